// same_json.js docs/openapi.yaml build/openapi.json: whether the JSON the
// worker serves (written by src/openapi_embed.c, which reads the YAML with
// libyaml) is what js-yaml, a second reader, reads of the YAML: the same
// values, keys in the same order. Prints the first difference and exits 1.
'use strict';
const fs = require('fs');
const yaml = require('js-yaml');

const [yamlPath, jsonPath] = process.argv.slice(2);
if (!jsonPath) {
  console.error('usage: node same_json.js openapi.yaml openapi.json');
  process.exit(2);
}
// The default schema: YAML 1.2's core types and what js-yaml adds (dates,
// merge keys), so that an unquoted date or a merge would show here too.
const fromYaml = yaml.load(fs.readFileSync(yamlPath, 'utf8'),
  { filename: yamlPath });
const served = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));

function differ(a, b, at) {
  if (a instanceof Date || typeof a !== typeof b ||
      Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null))
    return `${at}: ${JSON.stringify(a)} in the YAML, ${JSON.stringify(b)} served`;
  if (Array.isArray(a)) {
    if (a.length !== b.length)
      return `${at}: ${a.length} items in the YAML, ${b.length} served`;
    for (let i = 0; i < a.length; i++) {
      const d = differ(a[i], b[i], `${at}/${i}`);
      if (d) return d;
    }
    return null;
  }
  if (a !== null && typeof a === 'object') {
    const ka = Object.keys(a), kb = Object.keys(b);
    if (ka.join('\0') !== kb.join('\0'))
      return `${at}: keys ${JSON.stringify(ka)} in the YAML, ${JSON.stringify(kb)} served`;
    for (const k of ka) {
      const d = differ(a[k], b[k], `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
      if (d) return d;
    }
    return null;
  }
  return a === b ? null :
    `${at}: ${JSON.stringify(a)} in the YAML, ${JSON.stringify(b)} served`;
}

const d = differ(fromYaml, served, '#');
if (d) {
  console.error(`${jsonPath} is not ${yamlPath} as js-yaml reads it: ${d}`);
  process.exit(1);
}
console.log(`${jsonPath} is ${yamlPath} as js-yaml reads it`);
