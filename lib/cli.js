#!/usr/bin/env node
'use strict';

// The `voip-realtime` command: emulator, tail and demo. Exit codes: 0 done, 1 runtime failure
// (connection, authentication, subscription), 2 bad command line.

const { UsageError, closest } = require('./cli/args');

const COMMANDS = {
  emulator: () => require('./cli/emulator'),
  tail: () => require('./cli/tail'),
  demo: () => require('./cli/demo'),
  bridge: () => require('./cli/bridge'),
  consume: () => require('./cli/consume'),
};

const USAGE = `Usage: voip-realtime <command> [options]

Commands:
  emulator   run a local VoIPBIN real-time server with a simulated contact centre
  tail       print events from a server, one line each (or JSON lines)
  demo       emulator + live terminal dashboard in one command
  bridge     append every event to a Redis stream (needs the ioredis package)
  consume    read a Redis stream as a consumer group, one JSON line per event

Run 'voip-realtime <command> --help' for the options of a command.`;

/**
 * Runs the command line.
 * @param {string[]} argv arguments after the program name
 * @param {{ stdout?: object, stderr?: object }} [io]
 * @returns {Promise<number>} the exit code
 */
async function main(argv, io = {}) {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? stderr : stdout).write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    stdout.write(`${require('../package.json').version}\n`);
    return 0;
  }
  if (!Object.prototype.hasOwnProperty.call(COMMANDS, name)) {
    const meant = closest(name, Object.keys(COMMANDS));
    stderr.write(`voip-realtime: unknown command ${JSON.stringify(name)}${meant ? ` (did you mean ${meant}?)` : ''}\n\n${USAGE}\n`);
    return 2;
  }
  try {
    return await COMMANDS[name]().run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      stderr.write(`voip-realtime ${name}: ${err.message}\nRun 'voip-realtime ${name} --help' for usage.\n`);
      return 2;
    }
    stderr.write(`voip-realtime ${name}: ${err.code ? `${err.code}: ` : ''}${err.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  // A reader that goes away (`| head`) is a normal way to stop, not an error.
  process.stdout.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // Everything is closed by now; should some handle linger, do not hang the shell.
    setTimeout(() => process.exit(code), 3000).unref();
  });
}

module.exports = { main };
