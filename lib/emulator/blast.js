'use strict';

// The native blast: its options, checked and filled in for the addon, and its report as JS sees it.

const { fail, isPlainObject, ranged, integer, uuid } = require('./options.js');

/**
 * Checks blast options (see Emulator#scenario) and fills in the defaults.
 * @param {object} options
 * @param {string} defaultCustomerId
 * @returns {object} what the native blast() takes
 */
function blastOptions(options, defaultCustomerId) {
  if (!isPlainObject(options)) throw fail('an object', 'blast options', options);
  const resources = options.resources === undefined ? ['call'] : options.resources;
  if (!Array.isArray(resources) || resources.length === 0 || resources.some((r) => typeof r !== 'string' || !/^[a-z][a-z0-9_]*$/.test(r))) {
    throw fail('a non-empty array of resource names', 'resources', resources);
  }
  if (options.unfiltered !== undefined && typeof options.unfiltered !== 'boolean') {
    throw fail('a boolean', 'unfiltered', options.unfiltered);
  }
  return {
    count: integer(options.count, 'count', 100000, 0, Number.MAX_SAFE_INTEGER),
    size: integer(options.size, 'size', 300, 0, 16 * 1024 * 1024),
    ids: integer(options.ids, 'ids', 64, 1, 100000),
    customerId: options.customerId === undefined ? defaultCustomerId : uuid(options.customerId, 'customerId'),
    ownerId: options.ownerId === undefined ? '' : uuid(options.ownerId, 'ownerId'),
    resources,
    unfiltered: options.unfiltered === true,
    rate: ranged(options.rate, 'rate', 0, 0, 1e9, true),
  };
}

function blastReport(r) {
  const out = {
    connections: r.connections, events: r.events, bytes: r.bytes, wallMs: r.wallMs, cpuMs: r.cpuMs,
    eventsPerSecond: r.wallMs > 0 ? Math.round((r.events * 1000) / r.wallMs) : 0,
    megabytesPerSecond: r.wallMs > 0 ? (r.bytes / 1e6) / (r.wallMs / 1000) : 0,
    cpuPercent: r.wallMs > 0 ? (100 * r.cpuMs) / r.wallMs : 0,
  };
  if (r.running !== undefined) out.running = r.running;
  return out;
}

module.exports = { blastOptions, blastReport };
