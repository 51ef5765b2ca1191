'use strict';

// JS scenarios (lib/scenarios/<name>.js): finding one by name.

const fs = require('node:fs');
const path = require('node:path');
const { fail } = require('./options.js');

const SCENARIO_NAME_RE = /^[a-z][a-z0-9-]*$/;
const SCENARIO_DIR = path.join(__dirname, '..', 'scenarios');

function listScenarios() {
  try {
    return fs.readdirSync(SCENARIO_DIR)
      .filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3));
  } catch {
    return [];
  }
}

/**
 * The file of scenario `name`; INVALID_OPTION for a bad or unknown name.
 * @param {string} name
 * @returns {string}
 */
function scenarioFile(name) {
  if (typeof name !== 'string' || !SCENARIO_NAME_RE.test(name)) throw fail("'blast' or a scenario name", 'name', name);
  const file = path.join(SCENARIO_DIR, `${name}.js`);
  if (!fs.existsSync(file)) {
    const known = ['blast', ...listScenarios()];
    throw fail(`one of ${known.join(', ')}`, 'scenario', name);
  }
  return file;
}

module.exports = { scenarioFile };
