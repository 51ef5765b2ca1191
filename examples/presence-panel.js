'use strict';

// An agent desktop's presence panel on Natterbox: the agent's team (a user group) with who is
// ringing, on a call, available or away, kept current from CTI presence events, and each
// member's unread message count from the messages socket (one socket per member).
//
// Against Natterbox:
//   NATTERBOX_URL=wss://... NATTERBOX_MESSAGES_URL=wss://... NATTERBOX_TOKEN=... NATTERBOX_ORG=...
//   NATTERBOX_GROUP=... node examples/presence-panel.js
// Without a URL it starts a local emulator running the `agents` scenario (seeded, so the run
// repeats). EXAMPLE_SECONDS (default 5) bounds the run.

const { RealtimeClient, Emulator } = require('voip-realtime');

const LABELS = { RINGING: 'ringing', ANSWERED: 'on a call', BRIDGED: 'on a call', '': 'idle' };

async function main() {
  const seconds = Number(process.env.EXAMPLE_SECONDS ?? 5);
  let url = process.env.NATTERBOX_URL;
  let messagesUrl = process.env.NATTERBOX_MESSAGES_URL;
  let token = process.env.NATTERBOX_TOKEN;
  let org = process.env.NATTERBOX_ORG;
  let group = process.env.NATTERBOX_GROUP;
  let emu = null;
  if (!url) {
    emu = await Emulator.start({ protocol: 'natterbox' });
    // The changes start once the panel has its snapshot, so a run shows the seed's first changes.
    await emu.scenario('agents', { agents: 4, group: 100, rate: 10, seed: 'presence-panel', startAfter: 1000 });
    url = emu.url;
    messagesUrl = emu.messagesUrl;
    org = emu.org;
    group = '100';
    token = emu.issueToken({ userId: 1001 });
  }

  const client = new RealtimeClient({ protocol: 'natterbox', url, messagesUrl, token });
  const board = new Map();  // user id -> { presence, availability }
  let changes = 0;
  const show = (userId) => {
    const s = board.get(userId);
    console.log(`agent ${userId}: ${LABELS[s.presence] ?? s.presence} | ${s.availability}`);
  };
  client.on('presence_updated', ({ data }) => {
    const id = String(data.userId);
    const known = board.get(id) ?? { presence: '', availability: '' };
    board.set(id, {
      presence: data.presence ?? known.presence,
      availability: data.availability ?? known.availability,
    });
  });
  // Derived events say what changed; the board above already holds the new state.
  for (const name of ['presence_ringing', 'presence_answered', 'presence_bridged', 'presence_idle', 'availability_changed']) {
    client.on(name, ({ data }) => {
      changes++;
      show(String(data.userId));
    });
  }
  // Unread counts: created, updated, deleted (read everything) for one member each.
  const unread = new Map();  // user id -> count
  for (const name of ['userstatistics_created', 'userstatistics_updated', 'userstatistics_deleted']) {
    client.on(name, ({ topic, data }) => {
      const id = topic.split(':')[3];
      const count = name === 'userstatistics_deleted' ? 0 : data.userStatistics?.unreadMessages ?? unread.get(id) ?? 0;
      unread.set(id, count);
      console.log(`unread agent ${id}: ${count}`);
    });
  }
  client.on('error', (err) => console.error(`error: ${err.code}: ${err.message}`));

  await client.subscribe(`org:${org}:group:${group}:presence`);
  // The snapshot's events follow the subscribe's answer.
  await new Promise((resolve) => setImmediate(resolve));
  const team = [...board.keys()].sort();
  console.log(`team: ${team.join(', ')}`);
  await client.subscribe(team.map((id) => `org:${org}:user:${id}:messages`));
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const onCall = [...board.values()].filter((s) => s.presence === 'ANSWERED' || s.presence === 'BRIDGED').length;
  await client.close();
  if (emu) await emu.stop();
  const totalUnread = [...unread.values()].reduce((a, b) => a + b, 0);
  console.log(`summary: ${board.size} agents, ${changes} changes, ${onCall} on a call, ${totalUnread} unread`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
