// Reads a JSON list of file paths on stdin; prints one JSON line per file with the
// Khronos glTF Validator's error codes (severity 0). Used by test_khronos_validator.py.
// The validator itself throws asynchronously on some hostile files (e.g. "Infinity.toInt()"
// for 1e999); such a file is reported as VALIDATOR_EXCEPTION and the run goes on.
import { readFileSync } from "node:fs";
import validator from "gltf-validator";

let failCurrent = null;
process.on("uncaughtException", (err) => failCurrent && failCurrent(err));
process.on("unhandledRejection", (err) => failCurrent && failCurrent(err));

function validate(path) {
  return new Promise((resolve, reject) => {
    failCurrent = reject;
    validator
      .validateBytes(new Uint8Array(readFileSync(path)), {
        uri: path,
        maxIssues: 50,
        externalResourceFunction: () => Promise.reject(new Error("no external resources")),
      })
      .then(resolve, reject);
  });
}

const paths = JSON.parse(readFileSync(0, "utf8"));
for (const path of paths) {
  let result;
  try {
    const report = await validate(path);
    const found = report.issues.messages.filter((m) => m.severity === 0);
    const errors = found.map((m) => m.code);
    const messages = found.map((m) => `${m.code}: ${m.message} (${m.pointer ?? ""})`);
    result = { path, errors, messages };
  } catch (err) {
    result = { path, errors: ["VALIDATOR_EXCEPTION"], messages: [String(err).slice(0, 300)] };
  }
  process.stdout.write(JSON.stringify(result) + "\n");
}
