'use strict';

// Runtime check of payloads against schema/events.js, used by tests to keep the emulator (and
// anything else that produces events) honest. Problems are plain strings in the house error style
// ("Expected <what> for <name> but received <value>") so a failing assertion reads on its own.

const { definitions, events } = require('./events');

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DATE_TIME_RE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
const URI_RE = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/;
const TOPIC_RE = /^(customer_id|agent_id):[^:]+:[^:]+:[^:]+$/;

const FORMAT_NAMES = { uuid: 'UUID (lower case)', 'date-time': 'RFC 3339 date-time', uri: 'URI' };
const FORMAT_TESTS = { uuid: UUID_RE, 'date-time': DATE_TIME_RE, uri: URI_RE };

function describe(value) {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const text = JSON.stringify(value);
    return text.length > 64 ? `${text.slice(0, 60)}..."` : text;
  }
  return String(value);
}

function expected(what, path, value) {
  return `Expected ${what} for ${path} but received ${describe(value)}`;
}

function resolve(node) {
  if (!node.ref) return node;
  const target = definitions[node.ref];
  if (!target) throw new Error(`schema: unknown definition "${node.ref}"`);
  if (!node.status) return target;
  return { ...target, properties: { ...target.properties, status: { ...target.properties.status, enum: node.status } } };
}

function typeName(node) {
  if (node.enum) return `one of ${node.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (node.format) return FORMAT_NAMES[node.format];
  if (node.type === 'object') return 'an object';
  if (node.type === 'array') return 'an array';
  return node.type;
}

function matchesType(node, value) {
  switch (node.type) {
    case 'string': return typeof value === 'string';
    case 'integer': return Number.isInteger(value);
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'boolean': return typeof value === 'boolean';
    case 'array': return Array.isArray(value);
    case 'object': return value !== null && typeof value === 'object' && !Array.isArray(value);
    default: throw new Error(`schema: unknown type "${node.type}"`);
  }
}

function check(node, value, path, options, problems) {
  const nullable = node.nullable === true;
  node = resolve(node);
  if (value === null && nullable) return;
  const orNull = nullable ? ' or null' : '';
  if (!matchesType(node, value)) {
    problems.push(expected(typeName(node) + orNull, path, value));
    return;
  }
  if (node.enum && !node.enum.includes(value)) {
    problems.push(expected(typeName(node) + orNull, path, value));
    return;
  }
  if (node.format && !FORMAT_TESTS[node.format].test(value)) {
    problems.push(expected(FORMAT_NAMES[node.format] + orNull, path, value));
    return;
  }
  if (node.type === 'array') {
    value.forEach((item, i) => check(node.items, item, `${path}[${i}]`, options, problems));
    return;
  }
  if (node.type === 'object' && node.properties) {
    for (const [key, child] of Object.entries(node.properties)) {
      const childPath = `${path}.${key}`;
      if (!Object.prototype.hasOwnProperty.call(value, key) || value[key] === undefined) {
        if (!child.optional) problems.push(`Missing required field ${childPath}`);
        continue;
      }
      check(child, value[key], childPath, options, problems);
    }
    if (!node.additional || options.strict) {
      for (const key of Object.keys(value)) {
        if (!Object.prototype.hasOwnProperty.call(node.properties, key)) problems.push(`Unexpected field ${path}.${key}`);
      }
    }
  }
}

function lookup(eventType, options, problems) {
  if (typeof eventType !== 'string') {
    problems.push(expected('an event type string', 'event_type', eventType));
    return null;
  }
  if (!Object.prototype.hasOwnProperty.call(events, eventType)) {
    problems.push(`Unknown event type ${JSON.stringify(eventType)}`);
    return null;
  }
  const entry = events[eventType];
  if (options.dialect && entry.dialect !== options.dialect) {
    problems.push(`Event type ${JSON.stringify(eventType)} belongs to the ${entry.dialect} dialect, not ${options.dialect}`);
    return null;
  }
  return entry;
}

/**
 * Checks an event's payload (`data`, or a bare live-dialect frame) against the schema.
 * @param {string} eventType for example 'call.status' or 'call_hangup'
 * @param {unknown} data the payload
 * @param {{ strict?: boolean, dialect?: 'documented' | 'live' }} [options] `strict` also reports
 *   fields the schema does not name in objects that otherwise allow them (live resources);
 *   `dialect` reports an event type of the other dialect
 * @returns {string[]} problems, empty when the payload conforms
 */
function validate(eventType, data, options = {}) {
  const problems = [];
  const entry = lookup(eventType, options, problems);
  if (entry) check(entry.data, data, 'data', options, problems);
  return problems;
}

/**
 * Checks a whole delivered event `{ event_type, timestamp, topic, data }`: the envelope and the payload.
 * @param {unknown} event
 * @param {{ strict?: boolean, dialect?: 'documented' | 'live' }} [options] as for validate()
 * @returns {string[]} problems, empty when the event conforms
 */
function validateEvent(event, options = {}) {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    return [expected('an object', 'event', event)];
  }
  const problems = [];
  for (const key of ['event_type', 'timestamp', 'topic', 'data']) {
    if (!Object.prototype.hasOwnProperty.call(event, key)) problems.push(`Missing required field ${key}`);
  }
  if ('timestamp' in event && (typeof event.timestamp !== 'string' || !DATE_TIME_RE.test(event.timestamp))) {
    problems.push(expected(FORMAT_NAMES['date-time'], 'timestamp', event.timestamp));
  }
  if ('topic' in event && (typeof event.topic !== 'string' || !TOPIC_RE.test(event.topic))) {
    problems.push(expected('a topic <scope>:<scope_id>:<resource>:<resource_id>', 'topic', event.topic));
  }
  if (options.strict) {
    for (const key of Object.keys(event)) {
      if (!['event_type', 'timestamp', 'topic', 'data'].includes(key)) problems.push(`Unexpected field ${key}`);
    }
  }
  if ('event_type' in event) {
    const entry = lookup(event.event_type, options, problems);
    if (entry && 'data' in event) check(entry.data, event.data, 'data', options, problems);
  }
  return problems;
}

/** @returns {string[]} every event type the schema knows, optionally of one dialect */
function eventTypes(dialect) {
  return Object.keys(events).filter((name) => !dialect || events[name].dialect === dialect);
}

module.exports = { validate, validateEvent, eventTypes };
