'use strict';

// The topic grammar. native/core/topic.cpp implements the same checks in the same order with
// byte-identical messages, so a pattern refused here is refused there and vice versa.

const { RealtimeError } = require('./errors.js');

const MAX_TOPIC_BYTES = 512;
const MAX_RESOURCE_LENGTH = 64;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const RESOURCE_RE = /^[a-z][a-z0-9_]*$/;
// Whitespace (JS's \s, Unicode spaces included), control characters, quote and backslash;
// native/core/topic.cpp refuses exactly the same characters.
const BAD_RESOURCE_ID_RE = /[\s\u0000-\u001f\u007f"\\]/;
const SCOPES = ['customer_id', 'agent_id'];
// A pattern that split() accepts and normalises to itself, in the common spelling (lower-case
// UUID or '*' as resource_id). Checked first, because subscribing 100,000 patterns otherwise
// makes an object and several strings per pattern only to rebuild the same text.
const LOWER_UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const NORMAL_RE = new RegExp(
  `^(?:customer_id|agent_id):${LOWER_UUID}:(?:\\*|[a-z][a-z0-9_]{0,${MAX_RESOURCE_LENGTH - 1}}):(?:\\*|${LOWER_UUID})$`);

function invalid(message, input) {
  return new RealtimeError('INVALID_TOPIC', message, { topics: [input] });
}

function isUuid(s) {
  return s.length === 36 && UUID_RE.test(s);
}

function checkString(input, name) {
  if (typeof input !== 'string') {
    let shown;
    try {
      shown = input === undefined ? 'undefined' : JSON.stringify(input);
    } catch {
      shown = Object.prototype.toString.call(input);
    }
    if (shown === undefined) shown = typeof input;
    throw new RealtimeError('INVALID_TOPIC', `Expected a string for ${name} but received ${shown}`,
      { topics: [] });
  }
}

/**
 * Validates a pattern (wildcards allowed) and returns its four normalised parts.
 * @param {string} input
 * @returns {{ scope: string, scopeId: string, resource: string, resourceId: string }}
 */
function split(input) {
  checkString(input, 'topic');
  if (Buffer.byteLength(input, 'utf8') > MAX_TOPIC_BYTES) {
    throw invalid(`topic is longer than ${MAX_TOPIC_BYTES} characters`, input);
  }
  const parts = input.split(':');
  if (parts.length !== 4) {
    throw invalid(`topic ${JSON.stringify(input)} must have 4 segments ` +
      `<scope>:<scope_id>:<resource>:<resource_id>, found ${parts.length}`, input);
  }
  const [scope, scopeId, resource, resourceId] = parts;
  if (!SCOPES.includes(scope)) {
    throw invalid(`scope ${JSON.stringify(scope)} must be customer_id or agent_id`, input);
  }
  if (!isUuid(scopeId)) {
    throw invalid(`scope_id ${JSON.stringify(scopeId)} is not a UUID`, input);
  }
  if (resource !== '*' && (resource.length > MAX_RESOURCE_LENGTH || !RESOURCE_RE.test(resource))) {
    throw invalid(`resource ${JSON.stringify(resource)} must be a lower-case identifier or *`, input);
  }
  if (resourceId === '' || (resourceId !== '*' && resourceId.includes('*')) ||
      BAD_RESOURCE_ID_RE.test(resourceId)) {
    throw invalid(`resource_id ${JSON.stringify(resourceId)} must be a UUID, another id without ':' or *`,
      input);
  }
  return {
    scope,
    scopeId: scopeId.toLowerCase(),
    resource,
    resourceId: isUuid(resourceId) ? resourceId.toLowerCase() : resourceId,
  };
}

/**
 * Validates a subscription pattern and returns its normalised spelling (UUIDs lower-cased).
 * @param {string} pattern
 * @returns {string}
 */
function normalize(pattern) {
  // Already normal (lower-case UUIDs): the string itself, validated without splitting it.
  if (typeof pattern === 'string' && NORMAL_RE.test(pattern)) return pattern;
  const p = split(pattern);
  return `${p.scope}:${p.scopeId}:${p.resource}:${p.resourceId}`;
}

/**
 * Parses a topic or pattern.
 * @param {string} s
 * @returns {{ scope: string, scopeId: string, resource: string, resourceId: string }}
 */
function parse(s) {
  return split(s);
}

/**
 * Builds a topic from its parts, validated and normalised.
 * @param {{ scope: string, scopeId: string, resource: string, resourceId?: string }} parts
 * @returns {string}
 */
function format(parts) {
  if (parts === null || typeof parts !== 'object') {
    throw new RealtimeError('INVALID_TOPIC',
      `Expected an object { scope, scopeId, resource, resourceId } for parts but received ${String(parts)}`,
      { topics: [] });
  }
  const { scope, scopeId, resource, resourceId = '*' } = parts;
  checkString(scope, 'scope');
  checkString(scopeId, 'scopeId');
  checkString(resource, 'resource');
  checkString(resourceId, 'resourceId');
  return normalize(`${scope}:${scopeId}:${resource}:${resourceId}`);
}

/**
 * A pattern in a customer's scope.
 * @param {string} customerId
 * @param {string} resource
 * @param {string} [resourceId='*']
 * @returns {string}
 */
function customer(customerId, resource, resourceId = '*') {
  return format({ scope: 'customer_id', scopeId: customerId, resource, resourceId });
}

/**
 * A pattern in an agent's scope.
 * @param {string} agentId
 * @param {string} resource
 * @param {string} [resourceId='*']
 * @returns {string}
 */
function agent(agentId, resource, resourceId = '*') {
  return format({ scope: 'agent_id', scopeId: agentId, resource, resourceId });
}

/**
 * Whether a concrete topic matches a pattern. The pattern is validated (INVALID_TOPIC); a topic
 * without four segments matches nothing.
 * @param {string} pattern
 * @param {string} concreteTopic
 * @returns {boolean}
 */
function matches(pattern, concreteTopic) {
  const p = split(pattern);
  if (typeof concreteTopic !== 'string') return false;
  const t = concreteTopic.split(':');
  if (t.length !== 4) return false;
  if (t[0] !== p.scope) return false;
  if (t[1].toLowerCase() !== p.scopeId) return false;
  if (p.resource !== '*' && t[2] !== p.resource) return false;
  if (p.resourceId === '*') return true;
  return (isUuid(t[3]) ? t[3].toLowerCase() : t[3]) === p.resourceId;
}

module.exports = { parse, format, customer, agent, matches, normalize, normalise: normalize, isUuid };
