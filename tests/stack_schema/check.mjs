// Schema checks that stand in for tools we cannot run here (Grafana, docker compose).
// Run by tests/stack_schema.rs with the packages installed by install.sh:
//
//   node check.mjs dashboards NODE_MODULES OUT_DIR FILE...   Grafana dashboards
//   node check.mjs compose NODE_MODULES FILE                 a compose file
//
// Prints one JSON object on stdout: {"FILE": ["problem", ...], ...} (empty lists when
// valid). Dashboards are checked against JSON schemas generated here from the
// TypeScript types of @grafana/schema (the dashboard model, and each panel plugin's
// options and field config); the generated schemas are written to OUT_DIR. The compose
// file is checked against the compose specification's JSON schema shipped by dclint.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [mode, nodeModules, ...rest] = process.argv.slice(2);
if (!mode || !nodeModules) {
  console.error("usage: check.mjs dashboards|compose NODE_MODULES ...");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(nodeModules), "noop.js"));
const Ajv = require("ajv");
const addFormats = require("ajv-formats");

function newAjv() {
  // allErrors: report every problem at once; strict off: the generated schemas carry
  // descriptive keywords (e.g. defaultSnippets) that ajv's strict mode refuses.
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv;
}

// "PREFIX/json/pointer: message (detail)" per error.
function describe(errors, prefix = "") {
  return (errors || []).map((e) => {
    let detail = "";
    if (e.params?.additionalProperty) detail = ` (${e.params.additionalProperty})`;
    else if (e.params?.allowedValues) detail = ` (${e.params.allowedValues.join(", ")})`;
    return `${prefix}${e.instancePath}: ${e.message}${detail}`;
  });
}

// anyOf/oneOf report every branch; keep the most specific message per location.
function dedupe(list) {
  return [...new Set(list)];
}

// === Grafana ===

function generate(tsFile, type) {
  const { createGenerator } = require("ts-json-schema-generator");
  return createGenerator({
    path: tsFile,
    type,
    skipTypeCheck: true,
    expose: "export",
    jsDoc: "basic",
    topRef: true,
  }).createSchema(type);
}

// Keys the Prometheus data source keeps beside the common annotation keys (its editor's
// Min step, Title, Text, Tags and "series value as timestamp"); @grafana/schema 12.0.2
// types only the common ones (its AnnotationQuery says "this should just be a normal
// query target"). Any other key is still an error.
const PROMETHEUS_ANNOTATION_KEYS = {
  expr: { type: "string" },
  step: { type: "string" },
  titleFormat: { type: "string" },
  textFormat: { type: "string" },
  tagKeys: { type: "string" },
  useValueForTime: { type: "boolean" },
};

// The TypeScript types mark a key required even where the package gives it a default
// (`defaultDashboardLink = { asDropdown: false, ... }`): Grafana fills those in, so a
// dashboard may leave them out. Keys without a default stay required.
function relaxDefaults(schema, modules) {
  for (const [name, def] of Object.entries(schema.definitions || {})) {
    const defaults = modules.map((m) => m[`default${name}`]).find((d) => d && typeof d === "object");
    if (defaults && Array.isArray(def.required)) {
      def.required = def.required.filter((k) => !(k in defaults));
    }
  }
  return schema;
}

async function grafanaSchemas(outDir) {
  const pkg = path.dirname(require.resolve("@grafana/schema/package.json"));
  const version = JSON.parse(fs.readFileSync(path.join(pkg, "package.json"))).version;
  const raw = path.join(pkg, "dist/esm/raw");
  const load = (file) => import(pathToFileURL(file).href);
  // The package's index exports the common and dashboard defaults.
  const index = await load(path.join(pkg, "dist/esm/index.mjs"));
  const dashboard = relaxDefaults(
    generate(path.join(raw, "dashboard/x/dashboard_types.gen.d.ts"), "Dashboard"),
    [index],
  );
  Object.assign(dashboard.definitions.AnnotationQuery.properties, PROMETHEUS_ANNOTATION_KEYS);
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "dashboard.schema.json"), JSON.stringify(dashboard, null, 1));
  // Panel plugins: raw/composable/<plugin>/panelcfg/x/<Name>PanelCfg_types.gen.d.ts.
  const panels = {};
  const composable = path.join(raw, "composable");
  for (const plugin of fs.readdirSync(composable)) {
    const dir = path.join(composable, plugin, "panelcfg/x");
    if (!fs.existsSync(dir)) continue;
    const file = fs.readdirSync(dir).find((f) => f.endsWith(".d.ts"));
    const text = fs.readFileSync(path.join(dir, file), "utf8");
    const js = path.join(dir, file.replace(/\.d\.ts$/, ".js"));
    const modules = [fs.existsSync(js) ? await load(js) : {}, index];
    const schemas = {};
    for (const type of ["Options", "FieldConfig"]) {
      if (!new RegExp(`export (interface|type) ${type}\\b`).test(text)) continue;
      schemas[type] = relaxDefaults(generate(path.join(dir, file), type), modules);
      fs.writeFileSync(
        path.join(outDir, `${plugin}.${type}.schema.json`),
        JSON.stringify(schemas[type], null, 1),
      );
    }
    panels[plugin] = schemas;
  }
  return { version, dashboard, panels };
}

function allPanels(d) {
  const out = [];
  for (const [i, p] of (d.panels || []).entries()) {
    out.push([`/panels/${i}`, p]);
    for (const [j, q] of (p.panels || []).entries()) out.push([`/panels/${i}/panels/${j}`, q]);
  }
  return out;
}

async function checkDashboards(outDir, files) {
  const { version, dashboard, panels } = await grafanaSchemas(outDir);
  const ajv = newAjv();
  const validDashboard = ajv.compile(dashboard);
  const compiled = {};
  const validator = (plugin, type) => {
    const key = `${plugin}.${type}`;
    if (!(key in compiled)) {
      compiled[key] = panels[plugin]?.[type] ? newAjv().compile(panels[plugin][type]) : null;
    }
    return compiled[key];
  };
  const report = { "@grafana/schema": [version] };
  for (const file of files) {
    const problems = [];
    let d;
    try {
      d = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
      report[file] = [`not JSON: ${e.message}`];
      continue;
    }
    const titles = new Map(allPanels(d).map(([at, p]) => [at, `panel "${p.title}" (id ${p.id})`]));
    const where = (pointer) => {
      const m = pointer.match(/^\/panels\/\d+(\/panels\/\d+)?/);
      return m && titles.has(m[0]) ? `${titles.get(m[0])} ${pointer.slice(m[0].length) || "/"}` : pointer;
    };
    if (!validDashboard(d)) {
      for (const e of validDashboard.errors) {
        problems.push(describe([{ ...e, instancePath: "" }], where(e.instancePath))[0]);
      }
    }
    for (const [at, p] of allPanels(d)) {
      if (p.type === "row") continue;
      const plugin = (p.type || "").replace(/-/g, "");
      if (!panels[plugin]) {
        problems.push(`${titles.get(at)}: panel type ${JSON.stringify(p.type)} has no panel config in @grafana/schema ${version} (not a core panel of this Grafana)`);
        continue;
      }
      const options = validator(plugin, "Options");
      if (options && p.options !== undefined && !options(p.options)) {
        problems.push(...describe(options.errors, `${titles.get(at)} options`));
      }
      const custom = validator(plugin, "FieldConfig");
      const c = p.fieldConfig?.defaults?.custom;
      if (custom && c !== undefined && !custom(c)) {
        problems.push(...describe(custom.errors, `${titles.get(at)} fieldConfig.defaults.custom`));
      }
    }
    report[file] = dedupe(problems);
  }
  return report;
}

// === compose ===

function checkCompose(file) {
  const pkg = path.dirname(require.resolve("dclint/package.json"));
  const schema = JSON.parse(fs.readFileSync(path.join(pkg, "schemas/compose.schema.json"), "utf8"));
  const YAML = require("yaml");
  let doc;
  try {
    // Merge keys (<<: *anchor) as compose resolves them.
    doc = YAML.parse(fs.readFileSync(file, "utf8"), { merge: true });
  } catch (e) {
    return { [file]: [`not YAML: ${e.message}`] };
  }
  // The schema names draft-07 by an https URL ajv does not know it by; ajv validates
  // draft-07 itself, so the meta-schema check is left out.
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  const ok = validate(doc);
  return {
    "compose-spec (dclint)": [JSON.parse(fs.readFileSync(path.join(pkg, "package.json"))).version],
    [file]: ok ? [] : dedupe(describe(validate.errors, "")),
  };
}

let report;
if (mode === "dashboards") {
  const [outDir, ...files] = rest;
  report = await checkDashboards(outDir, files);
} else if (mode === "compose") {
  report = checkCompose(rest[0]);
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
process.stdout.write(JSON.stringify(report, null, 1) + "\n");
