'use strict';

// Credentials a VoIPBIN emulator accepts: HS256 JWTs signed with its secret.

const crypto = require('node:crypto');
const { fail, uuid } = require('./options.js');

const PERMISSIONS = ['admin', 'manager', 'agent'];
const DEFAULT_TOKEN_LIFETIME_S = 7 * 24 * 3600;

function base64url(input) {
  return Buffer.from(input).toString('base64url');
}

/**
 * Checks `claims` (see Emulator#issueToken) and signs them with `secret`.
 * @param {Buffer} secret
 * @param {string} defaultCustomerId
 * @param {object} claims
 * @returns {string}
 */
function signToken(secret, defaultCustomerId, claims) {
  const customerId = claims.customerId === undefined ? defaultCustomerId : uuid(claims.customerId, 'customerId');
  const agentId = claims.agentId === undefined || claims.agentId === null ? null : uuid(claims.agentId, 'agentId');
  const permissions = claims.permissions === undefined ? [agentId ? 'agent' : 'admin'] : claims.permissions;
  if (!Array.isArray(permissions) || permissions.some((p) => !PERMISSIONS.includes(p))) {
    throw fail("an array of 'admin', 'manager' or 'agent'", 'permissions', permissions);
  }
  const expiresIn = claims.expiresIn === undefined ? DEFAULT_TOKEN_LIFETIME_S : claims.expiresIn;
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn)) throw fail('a number of seconds', 'expiresIn', expiresIn);
  if (claims.delegate !== undefined && typeof claims.delegate !== 'boolean') throw fail('a boolean', 'delegate', claims.delegate);
  const now = Math.floor(Date.now() / 1000);
  const payload = { customer_id: customerId, permissions, iat: now, exp: now + expiresIn };
  if (agentId) payload.agent_id = agentId;
  if (claims.delegate) payload.delegate = true;
  const head = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}`;
  const sig = crypto.createHmac('sha256', secret).update(head).digest('base64url');
  return `${head}.${sig}`;
}

module.exports = { signToken };
