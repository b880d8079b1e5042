import { test } from "vitest";
test("scratch", async () => {
  const m = await import("../src/schema/index.ts");
  try { console.log(m.printSchemaFile().length); } catch (e: any) { console.log("ERR", e.message.slice(0, 300)); }
});
