// Validates GitHub Actions workflow files with GitHub's own parser (@actions/workflow-parser, the one
// behind the Actions language service): YAML, the workflow schema, expression syntax, job `needs`.
// Prints { "<file>": ["<error>", ...] } as JSON; an empty list is a valid file.
//
//   node test/helpers/validate-workflow.mjs <workflow.yml> ...
//
// An ES module run in its own process: the parser is ESM only, and imports its JSON schema without the
// import attribute Node.js asks for (it is written for bundlers), which the load hook below adds.
import { register } from 'node:module';
import fs from 'node:fs';

const hook = 'export async function load(url, context, next) {'
  + ' return next(url, url.endsWith(".json") ? { ...context, importAttributes: { type: "json" } } : context); }';
register(`data:text/javascript,${encodeURIComponent(hook)}`, import.meta.url);
const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } = await import('@actions/workflow-parser');

const report = {};
for (const file of process.argv.slice(2)) {
  const result = parseWorkflow({ name: file, content: fs.readFileSync(file, 'utf8') }, new NoOperationTraceWriter());
  // The conversion adds the checks across jobs (needs, matrix, outputs) to the schema's.
  if (result.value) await convertWorkflowTemplate(result.context, result.value);
  report[file] = result.context.errors.getErrors().map((e) => e.message);
}
console.log(JSON.stringify(report));
