// The "Submit a job" form, generated from GET /v1/kinds: one control per field of the kind's
// input JSON Schema (a file picker for upload fields, a select for enums, a checkbox for
// booleans, a number box with the schema's bounds, JSON for lists and objects). Only values
// that differ from the schema's defaults are sent, plus the required ones.
"use strict";

const submitForm = (() => {
  let kinds = {};

  function resolve(schema, root) {
    if (schema && schema.$ref) schema = (root.$defs || {})[schema.$ref.split("/").pop()] || {};
    if (schema && schema.anyOf) {
      const real = schema.anyOf.filter((s) => s.type !== "null");
      if (real.length === 1) {
        const inner = resolve(real[0], root);
        return Object.assign({}, inner, {
          default: schema.default, title: schema.title || inner.title,
          description: schema.description || inner.description, nullable: true,
        });
      }
      return Object.assign({ type: "json" }, schema);
    }
    return schema || {};
  }

  function control(name, schema, required) {
    const file = schema["x-renderhouse-file"];
    let input;
    let mode;
    if (file) {
      input = document.createElement("input");
      input.type = "file";
      mode = "file";
      const types = file.content_types || [];
      if (types.some((t) => t.startsWith("model/"))) input.accept = ".glb,.gltf,.zip";
      else if (types.includes("application/pdf")) input.accept = ".pdf,application/pdf";
    } else if (schema.enum) {
      input = document.createElement("select");
      mode = "enum";
      if (!required && schema.default == null) input.append(new Option("–", ""));
      for (const v of schema.enum) input.append(new Option(String(v), String(v)));
      input.value = schema.default == null ? "" : String(schema.default);
    } else if (schema.type === "boolean") {
      input = document.createElement("input");
      input.type = "checkbox";
      input.checked = Boolean(schema.default);
      mode = "bool";
    } else if (schema.type === "integer" || schema.type === "number") {
      input = document.createElement("input");
      input.type = "number";
      input.step = schema.type === "integer" ? "1" : "any";
      for (const [attr, key] of [["min", "minimum"], ["max", "maximum"]]) {
        if (schema[key] !== undefined) input[attr] = schema[key];
      }
      if (schema.default != null) input.value = schema.default;
      mode = "number";
    } else if (schema.type === "string") {
      input = document.createElement("input");
      input.type = "text";
      if (schema.default != null) input.value = schema.default;
      if (schema.maxLength) input.maxLength = schema.maxLength;
      mode = "text";
    } else {
      input = document.createElement("input");
      input.type = "text";
      input.placeholder = "JSON";
      if (schema.default !== undefined && schema.default !== null) {
        input.value = JSON.stringify(schema.default);
      }
      mode = "json";
    }
    input.id = "field-" + name;
    input.dataset.field = name;
    input.dataset.mode = mode;
    input.dataset.default = JSON.stringify(schema.default === undefined ? null : schema.default);
    input.required = required && mode !== "bool";
    const label = el("label");
    const title = el("span", (schema.title || name) + (required ? " *" : ""));
    label.append(title, input);
    if (schema.description) label.append(el("small", schema.description, "muted"));
    if (mode === "bool") label.className = "check";
    return label;
  }

  // An upload field with presets (a lighting preset or your own HDR): a select of the
  // presets, and a file that wins when one is chosen.
  function presetsOrFile(name, schema, required) {
    const presets = schema["x-renderhouse-file"].presets;
    const label = control(name, Object.assign({}, schema, { "x-renderhouse-file": undefined,
                                                            enum: presets }), required);
    const file = control(name, schema, false).querySelector("input");
    file.id = "field-" + name + "-file";
    label.append(el("small", "or upload a file:", "muted"), file);
    return label;
  }

  function render() {
    const kind = kinds[$("kind").value];
    const box = $("kind-fields");
    if (!kind) { box.replaceChildren(); return; }
    $("kind-description").textContent = kind.description || "";
    const root = kind.input_schema;
    const required = new Set(root.required || []);
    box.replaceChildren(...Object.entries(root.properties || {}).map(([name, raw]) =>
      (resolve(raw, root)["x-renderhouse-file"]?.presets || []).length
        ? presetsOrFile(name, resolve(raw, root), required.has(name))
        : control(name, resolve(raw, root), required.has(name))));
  }

  async function load() {
    const list = (await api("/v1/kinds")).data;
    kinds = Object.fromEntries(list.map((k) => [k.kind, k]));
    const select = $("kind");
    const before = select.value;
    select.replaceChildren(...list.map((k) => new Option(k.kind, k.kind)));
    select.value = kinds[before] ? before : kinds.noop ? "noop" : (list[0] || {}).kind || "";
    render();
  }

  async function value(input) {
    const fallback = JSON.parse(input.dataset.default);
    switch (input.dataset.mode) {
      case "file": {
        const file = input.files[0];
        if (!file) return undefined;
        const form = new FormData();
        form.append("file", file);
        return (await api("/v1/uploads", { method: "POST", body: form })).ref;
      }
      case "bool": return input.checked === Boolean(fallback) ? undefined : input.checked;
      case "number":
        return input.value === "" || Number(input.value) === fallback ? undefined : Number(input.value);
      case "json": {
        const text = input.value.trim();
        if (!text || text === JSON.stringify(fallback)) return undefined;
        try { return JSON.parse(text); } catch (e) {
          throw new Error(`${input.dataset.field}: not valid JSON (${e.message})`);
        }
      }
      default: return input.value === "" || input.value === fallback ? undefined : input.value;
    }
  }

  async function collect() {
    const input = {};
    const required = new Set(kinds[$("kind").value]?.input_schema.required || []);
    for (const node of $("kind-fields").querySelectorAll("[data-field]")) {
      let v = await value(node);
      if (v === undefined && required.has(node.dataset.field) && node.dataset.mode !== "file") {
        v = node.dataset.mode === "number" ? Number(node.value) : node.value;
      }
      if (v !== undefined) input[node.dataset.field] = v;
    }
    return input;
  }

  return { load, render, collect };
})();
