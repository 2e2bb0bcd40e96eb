// Compile TestToken.sol with the pinned solc-js and write TestToken.json (ABI + bytecode).
// Usage: node contracts/compile.mjs   (see contracts/README.md for the exact install step)
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", ".tools", "solc", "package.json"));
const solc = require("solc");

const settings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "paris",
  outputSelection: { "*": { TestToken: ["abi", "evm.bytecode.object"] } },
};
const input = {
  language: "Solidity",
  sources: { "TestToken.sol": { content: readFileSync(join(here, "TestToken.sol"), "utf8") } },
  settings,
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
const contract = output.contracts["TestToken.sol"].TestToken;
const artifact = {
  contractName: "TestToken",
  compiler: `solc-js ${solc.version()}`,
  settings: { optimizer: settings.optimizer, evmVersion: settings.evmVersion },
  abi: contract.abi,
  bytecode: "0x" + contract.evm.bytecode.object,
};
writeFileSync(join(here, "TestToken.json"), JSON.stringify(artifact, null, 2) + "\n");
console.log(`TestToken.json written (${contract.evm.bytecode.object.length / 2} bytes of bytecode)`);
