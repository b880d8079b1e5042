// A new chat's title is its first text, cut to 80 characters with an ellipsis;
// the cut never falls between the halves of an emoji (a lone half is stored
// as U+FFFD).
import { describe, expect, it } from "vitest";
import { expectOk, newUser } from "./support/fixtures.ts";
import { useTestGateway } from "./support/gateway.ts";
import { sendInput, subscribeWithFetch } from "./support/sse.ts";

const gateway = useTestGateway({}, { resetEachTest: false });

const EMOJI = "\u{1f600}";

async function titleOf(text: string): Promise<string> {
  const token = await gateway.tokenFor(newUser());
  const variables = sendInput(text);
  const turn = await subscribeWithFetch(gateway.url, variables, { token, signal: AbortSignal.timeout(10_000) });
  expect(turn.events.at(-1)).toMatchObject({ __typename: "StreamFinished" });
  const { chat } = expectOk(
    await gateway.gql("query($id: ID!) { chat(id: $id) { title } }", { id: variables.input.chatId }, token),
  );
  return chat.title;
}

describe("the title of a new chat", () => {
  it.each([77, 78, 79])("cut after %i characters and an emoji: whole code points only", async (pad) => {
    const title = await titleOf(`${"a".repeat(pad)}${EMOJI.repeat(3)} [plain]`);
    expect(title.isWellFormed()).toBe(true);
    expect(title).not.toContain("\ufffd");
    expect(title.length).toBeLessThanOrEqual(80);
    expect(title.endsWith("…")).toBe(true);
    expect(title.startsWith("a".repeat(pad))).toBe(true);
    // As much of the text as fits: an emoji is dropped only when just one half of it fits.
    expect(title.length).toBeGreaterThanOrEqual(79);
  });
});
