// Writes schema.graphql from the Pothos schema (`npm run schema:print`).
import { writeFileSync } from "node:fs";
import { printSchemaFile } from "../src/schema/index.ts";

const target = new URL("../schema.graphql", import.meta.url);
writeFileSync(target, printSchemaFile());
console.log(`wrote ${target.pathname}`);
