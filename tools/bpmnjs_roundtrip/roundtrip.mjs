#!/usr/bin/env node
// Import a BPMN file the way bpmn-js does (bpmn-moddle fromXML) and export it again (toXML).
//
//   node roundtrip.mjs FILE.bpmn [--untyped] > OUT.bpmn
//
// The exported XML goes to stdout. Import warnings (unresolved references, unknown elements or
// attributes, unparsable content) go to stderr as one JSON array; the exit code is then 2, but the
// export is still written so a caller can see what was lost. Exit 1: the file could not be read or
// imported at all. --untyped leaves out the spiffworkflow descriptor, so bpmn-moddle keeps those
// extension elements as generic (untyped) elements, as bpmn-js does without a SpiffWorkflow plugin.
import { readFileSync } from 'node:fs';
import { BpmnModdle } from 'bpmn-moddle';

const spiffworkflow = JSON.parse(
  readFileSync(new URL('./spiffworkflow.json', import.meta.url), 'utf8')
);

async function main(argv) {
  const args = argv.filter((a) => !a.startsWith('--'));
  const flags = new Set(argv.filter((a) => a.startsWith('--')));
  const unknown = [...flags].filter((f) => f !== '--untyped');
  if (args.length !== 1 || unknown.length) {
    process.stderr.write('usage: node roundtrip.mjs FILE.bpmn [--untyped]\n');
    return 1;
  }

  const xml = readFileSync(args[0], 'utf8');
  const moddle = new BpmnModdle(flags.has('--untyped') ? {} : { spiffworkflow });

  let imported;
  try {
    imported = await moddle.fromXML(xml, 'bpmn:Definitions');
  } catch (err) {
    const warnings = (err.warnings || []).map(describe);
    process.stderr.write(JSON.stringify({ error: err.message, warnings }) + '\n');
    return 1;
  }

  const { xml: out } = await moddle.toXML(imported.rootElement, { format: true });
  process.stdout.write(out.endsWith('\n') ? out : out + '\n');

  if (imported.warnings.length) {
    process.stderr.write(JSON.stringify(imported.warnings.map(describe), null, 2) + '\n');
    return 2;
  }
  return 0;
}

// A warning carries the moddle element it is about; keep what a person can act on.
function describe(warning) {
  const element = warning.element;
  let owner = element;
  while (owner && !owner.id) {
    owner = owner.$parent;
  }
  return {
    message: String(warning.message || warning).split('\n')[0],
    element: owner ? owner.id : undefined,
    type: element && element.$type ? element.$type : undefined,
    property: warning.property,
    value: typeof warning.value === 'string' ? warning.value : undefined
  };
}

process.exitCode = await main(process.argv.slice(2));
