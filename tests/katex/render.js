// Renders every formula given on stdin (a JSON list of {tex, display}) with KaTeX; prints a JSON
// list of the errors (empty when every formula renders). Run by tests/test_export_render.py.
const path = require("path");
const katex = require(process.env.KLPROOF_KATEX || path.join(__dirname, "..", "..", ".katex", "node_modules", "katex"));
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const errors = [];
  for (const { tex, display } of JSON.parse(input)) {
    try {
      katex.renderToString(tex, { displayMode: display, throwOnError: true, strict: "error" });
    } catch (err) {
      errors.push({ tex, error: String(err.message || err) });
    }
  }
  process.stdout.write(JSON.stringify(errors));
});
