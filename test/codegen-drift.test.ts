import { readFileSync } from "node:fs";
import { generate } from "@graphql-codegen/cli";
import { expect, test } from "vitest";
import config from "../codegen.ts";

const root = new URL("../", import.meta.url);

test("the committed client/generated files match what codegen produces from schema.graphql (run `npm run codegen`)", async () => {
  process.chdir(root.pathname);
  const outputs: { filename: string; content: string }[] = await generate({ ...config, silent: true }, false);
  expect(outputs.length).toBeGreaterThan(0);
  for (const output of outputs) {
    const committed = readFileSync(new URL(output.filename, root), "utf8");
    expect(committed, `${output.filename} is stale: run npm run codegen`).toBe(output.content);
  }
});

test("persisted documents cover every operation in client/documents", () => {
  const persisted = JSON.parse(readFileSync(new URL("client/generated/persisted-documents.json", root), "utf8"));
  const operations = Object.values<string>(persisted).map(
    (doc) => /\b(query|mutation|subscription) (\w+)/.exec(doc)?.[2],
  );
  expect(operations.sort()).toEqual(
    [
      "AddToolOutput",
      "Chat",
      "Chats",
      "CreateChat",
      "CreateGuestSession",
      "DeleteChat",
      "DeleteTrailingMessages",
      "Me",
      "ResumeStream",
      "SaveMessages",
      "SendMessage",
      "StopStream",
      "UpdateChatVisibility",
      "VoteMessage",
    ].sort(),
  );
});
