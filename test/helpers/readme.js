'use strict';

// Reads the fenced code blocks and relative links of a Markdown document (the README test's view
// of README.md). Only what README.md uses is supported: ``` fences at the start of a line.

const FENCE = /^```(.*)$/;

/**
 * @param {string} markdown
 * @returns {{ info: string, code: string, line: number, output: string|null,
 *   variantOutputs: Record<string, string> }[]} `line` is the 1-based line of the opening fence;
 *   `output` is the body of a ```text block that follows a runnable block with nothing between but
 *   blank lines and at most one short paragraph ending in ':' (such as "It prints:"): its expected
 *   output. Else null. A ```text <variant> block that follows that output block the same way is
 *   the expected output when the program runs against <variant> (`variantOutputs`); one anywhere
 *   else is an error, so that no variant's output sample goes unchecked.
 */
function parseBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  let open = null;
  let lastEnd = -2;
  for (let i = 0; i < lines.length; i++) {
    const m = FENCE.exec(lines[i]);
    if (!m) {
      if (open) open.body.push(lines[i]);
      continue;
    }
    if (!open) {
      open = { info: m[1].trim().replace(/\s+/g, ' '), line: i + 1, body: [], start: i };
      continue;
    }
    if (m[1].trim() !== '') throw new Error(`line ${i + 1}: a fence opens inside the block of line ${open.line}`);
    const block = { info: open.info, code: open.body.map((l) => `${l}\n`).join(''), line: open.line, output: null, variantOutputs: {} };
    const gap = lines.slice(lastEnd + 1, open.start);
    const variant = /^text (\S+)$/.exec(block.info)?.[1];
    if (variant !== undefined) addVariantOutput(blocks, block, variant, gap);
    else if (block.info === 'text' && awaitsOutput(blocks.at(-1)) && introducesOutput(gap)) {
      blocks.at(-1).output = block.code;
      block.outputOf = blocks.at(-1);
    }
    blocks.push(block);
    lastEnd = i;
    open = null;
  }
  if (open) throw new Error(`line ${open.line}: the block never closes`);
  return blocks;
}

function awaitsOutput(block) {
  return block !== undefined && block.info.startsWith('js') && block.output === null;
}

// A variant's output block directly follows the program's ```text output block or another
// variant's; each output block knows its program (`outputOf`).
function addVariantOutput(blocks, block, variant, gap) {
  const program = blocks.at(-1)?.outputOf;
  if (program === undefined || !introducesOutput(gap)) throw new Error(`line ${block.line}: a \`\`\`${block.info} block must follow a program's \`\`\`text output block`);
  if (variant in program.variantOutputs) throw new Error(`line ${block.line}: a second \`\`\`${block.info} block for the program of line ${program.line}`);
  program.variantOutputs[variant] = block.code;
  block.outputOf = program;
}

function introducesOutput(gap) {
  const text = gap.filter((l) => l.trim() !== '');
  return text.length === 0 || (text.length <= 2 && text.at(-1).trimEnd().endsWith(':'));
}

/**
 * Targets of inline links that are neither absolute URLs nor in-page anchors, outside code blocks.
 * @param {string} markdown
 * @returns {string[]} paths as written, without a `#fragment`
 */
function relativeLinks(markdown) {
  const prose = markdown.split(/^```.*$/m).filter((_, i) => i % 2 === 0).join('\n');
  const out = [];
  for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
    out.push(target.split('#')[0]);
  }
  return out;
}

module.exports = { parseBlocks, relativeLinks };
