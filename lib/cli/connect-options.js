'use strict';

// The connection options every command that holds a real-time connection takes (`tail`,
// `bridge`): --protocol, --url, --messages-url, --token, --access-key, --dialect, --ca,
// --insecure and --topic, with the environment's defaults per protocol, checked into
// RealtimeClient options. Bad input is a UsageError (exit 2).

const fs = require('node:fs');
const { UsageError, oneOf } = require('./args');

/** parseArgs specs of the connection options. */
const CONNECT_OPTIONS = Object.freeze({
  url: { type: 'string' },
  'messages-url': { type: 'string' },
  token: { type: 'string' },
  'access-key': { type: 'string' },
  topic: { type: 'string', short: 't', multiple: true },
  dialect: { type: 'string' },
  protocol: { type: 'string' },
  ca: { type: 'string' },
  insecure: { type: 'boolean' },
});

/** Their help lines (the --topic line is the command's own). */
const CONNECT_USAGE = `  --url <url>           WebSocket endpoint (default $VOIPBIN_URL or wss://api.voipbin.net/v1.0/ws)
  --token <jwt>         JWT, sent as ?token= (default $VOIPBIN_TOKEN)
  --access-key <key>    access key, sent as ?accesskey= (default $VOIPBIN_ACCESS_KEY)
  --dialect <d>         documented, live or auto (default: the client's default)
  --protocol <p>        voipbin (default) or natterbox: Natterbox CTI presence, topics such
                        as org:<org>:group:<group>:presence, credential --token or
                        $NATTERBOX_TOKEN, URL $NATTERBOX_URL; unread counts with
                        org:<org>:user:<user>:messages
  --messages-url <url>  natterbox: the messages socket (default $NATTERBOX_MESSAGES_URL or
                        wss://omnichannelws-us.natterbox.net/)
  --ca <file>           PEM file of certificate authorities to trust (wss:// with a private CA)
  --insecure            allow ws:// with a credential to a host other than this machine`;

/**
 * The protocol, the checked --topic list and the RealtimeClient options.
 * @param {object} values parsed CONNECT_OPTIONS
 * @param {object} env the environment
 * @returns {{ protocol: 'voipbin' | 'natterbox', topics: string[], options: object }}
 * @throws {UsageError}
 */
function connectOptions(values, env) {
  const protocol = values.protocol === undefined ? 'voipbin' : oneOf('protocol', values.protocol, ['voipbin', 'natterbox']);
  const natterbox = protocol === 'natterbox';
  // docs/protocol-natterbox.md: Natterbox topics have their own grammar.
  const checkTopic = natterbox ? require('../client/natterbox').normalize : require('../topic').parse;
  const topics = values.topic ?? [];
  if (topics.length === 0) throw new UsageError('at least one --topic is required, for example --topic \'customer_id:<uuid>:call:*\'');
  for (const t of topics) {
    try {
      checkTopic(t);
    } catch (err) {
      throw new UsageError(`--topic ${JSON.stringify(t)}: ${err.message}`);
    }
  }
  const token = values.token ?? (natterbox ? env.NATTERBOX_TOKEN : env.VOIPBIN_TOKEN);
  const accessKey = natterbox ? undefined : values['access-key'] ?? env.VOIPBIN_ACCESS_KEY;
  if (!token && !accessKey) {
    throw new UsageError(natterbox ? 'a credential is required: --token (or $NATTERBOX_TOKEN)'
      : 'a credential is required: --token or --access-key (or $VOIPBIN_TOKEN / $VOIPBIN_ACCESS_KEY)');
  }
  if (!natterbox && values['messages-url'] !== undefined) throw new UsageError('--messages-url needs --protocol natterbox');
  const options = natterbox ? { protocol, url: values.url ?? env.NATTERBOX_URL ?? 'wss://cti.natterbox.net/' }
    : { url: values.url ?? env.VOIPBIN_URL ?? 'wss://api.voipbin.net/v1.0/ws' };
  const messagesUrl = values['messages-url'] ?? env.NATTERBOX_MESSAGES_URL;
  if (natterbox && messagesUrl !== undefined) options.messagesUrl = messagesUrl;
  if (token) options.token = token;
  if (accessKey) options.accessKey = accessKey;
  if (values.dialect !== undefined) options.dialect = oneOf('dialect', values.dialect, ['documented', 'live', 'auto']);
  if (values.insecure) options.allowInsecure = true;
  if (values.ca !== undefined) {
    try {
      options.tls = { ca: fs.readFileSync(values.ca, 'utf8') };
    } catch (err) {
      throw new UsageError(`--ca ${JSON.stringify(values.ca)}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    }
  }
  return { protocol, topics, options };
}

/**
 * A RealtimeClient; options the client refuses (a bad URL, ws:// with a credential) are a
 * UsageError.
 * @param {object} options from connectOptions()
 */
function createClient(options) {
  const { RealtimeClient } = require('../index');
  try {
    return new RealtimeClient(options);
  } catch (err) {
    if (err.code === 'INVALID_OPTION' || err.code === 'INSECURE_URL') {
      throw new UsageError(`${err.code}: ${err.message}${err.code === 'INSECURE_URL' ? ' (use wss://, or --insecure)' : ''}`);
    }
    throw err;
  }
}

module.exports = { CONNECT_OPTIONS, CONNECT_USAGE, connectOptions, createClient };
