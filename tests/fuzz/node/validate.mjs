// Reads a JSON list of file paths on stdin; prints one JSON line per file with the
// Khronos glTF Validator's error codes (severity 0). Used by test_khronos_validator.py.
import { readFileSync } from "node:fs";
import validator from "gltf-validator";

const paths = JSON.parse(readFileSync(0, "utf8"));
for (const path of paths) {
  let result;
  try {
    const report = await validator.validateBytes(new Uint8Array(readFileSync(path)), {
      uri: path,
      maxIssues: 50,
      externalResourceFunction: () => Promise.reject(new Error("no external resources")),
    });
    const found = report.issues.messages.filter((m) => m.severity === 0);
    const errors = found.map((m) => m.code);
    const messages = found.map((m) => `${m.code}: ${m.message} (${m.pointer ?? ""})`);
    result = { path, errors, messages };
  } catch (err) {
    result = { path, errors: ["VALIDATOR_EXCEPTION"], message: String(err) };
  }
  process.stdout.write(JSON.stringify(result) + "\n");
}
