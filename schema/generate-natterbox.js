'use strict';

// The Natterbox part of schema/generate.js: types/natterbox.d.ts and a section of
// schema/EVENTS.md, from schema/natterbox.js.

const schema = require('./natterbox');

const pascal = (name) => name.split(/[._]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
const quote = (s) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const typeNameOf = (name) => `${pascal(name)}Event`;

/**
 * @param {(def: object, indent: string) => string} members renders an object node's members
 * @param {(lines: string[], indent: string) => string} jsdoc
 * @param {string} header the "generated" notice
 */
function renderNatterboxDts({ members, jsdoc, header }) {
  const parts = [`// ${header}\n// Natterbox CTI presence and messages (docs/protocol-natterbox.md), from schema/natterbox.js.\n`];
  parts.push("import type { EventEnvelope } from './events';\n");
  parts.push(`/** A user's presence topic: the topic of every presence event, and a pattern. */
export type NatterboxUserTopic = \`org:\${number}:user:\${number}:presence\`;
/** A group's presence pattern: its events arrive on the members' user topics. */
export type NatterboxGroupPattern = \`org:\${number}:group:\${number}:presence\`;
/** A user's unread counts (messages socket, one per user): the topic of its events, and a pattern. */
export type NatterboxMessagesTopic = \`org:\${number}:user:\${number}:messages\`;
/** Anything subscribe() takes on a Natterbox client. */
export type NatterboxPattern = NatterboxUserTopic | NatterboxGroupPattern | NatterboxMessagesTopic;
`);
  for (const [name, def] of Object.entries(schema.definitions)) {
    const doc = jsdoc([def.description, def.additional ? 'The server may add fields not listed here.' : ''], '');
    parts.push(`${doc}export interface ${name} {\n${members(def, '  ', null)}}\n`);
  }
  const names = Object.keys(schema.events);
  for (const name of names) {
    const e = schema.events[name];
    const data = e.presence === undefined ? e.data.ref : `${e.data.ref} & { presence: ${quote(e.presence)} }`;
    const topic = e.topic === 'messages' ? 'NatterboxMessagesTopic' : 'NatterboxUserTopic';
    parts.push(`${jsdoc([`\`${name}\`: ${e.summary}.`], '')}export interface ${typeNameOf(name)} extends EventEnvelope<${quote(name)}, ${data}> {
  topic: ${topic};
}
`);
  }
  parts.push(`/** Event name -> event type, for every event a Natterbox client delivers. */
export interface NatterboxEventMap {
${names.map((n) => `  ${quote(n)}: ${typeNameOf(n)};`).join('\n')}
}

export type NatterboxEventType = keyof NatterboxEventMap;
/** The union of every Natterbox event (or of the named ones), discriminated by \`event_type\`. */
export type NatterboxEvent<T extends NatterboxEventType = NatterboxEventType> = NatterboxEventMap[T];
`);
  return parts.join('\n');
}

function renderNatterboxMd(fieldTable) {
  const parts = ['## Natterbox events\n'];
  parts.push('A client made with `protocol: \'natterbox\'` delivers presence events on `org:<org>:user:<user>:presence` topics and unread counts on `org:<org>:user:<user>:messages` topics (docs/protocol-natterbox.md). `timestamp` is the receive time.\n');
  const rows = ['| event_type | payload | meaning |', '|---|---|---|'];
  for (const [name, e] of Object.entries(schema.events)) rows.push(`| \`${name}\` | \`${e.data.ref}\` | ${e.summary} |`);
  parts.push(rows.join('\n') + '\n');
  for (const [name, def] of Object.entries(schema.definitions)) {
    parts.push(`### \`${name}\`\n\n${def.description}\n`);
    parts.push(fieldTable(def));
  }
  return parts.join('\n');
}

module.exports = { renderNatterboxDts, renderNatterboxMd };
