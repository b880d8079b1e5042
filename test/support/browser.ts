// Debian's headless Chromium for the browser tests, through playwright-core:
// a fresh profile per browser, page errors and console errors collected.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const runBrowser = existsSync(CHROMIUM) || Boolean(process.env.CI);
if (!runBrowser) {
  console.warn(
    `browser tests: ${CHROMIUM} is missing, so they are skipped (apt-get install chromium; in CI they run).`,
  );
}

/** A fresh headless Chromium (empty profile), with page errors collected. */
export async function openBrowser(): Promise<{
  context: BrowserContext;
  page: Page;
  errors: string[];
  close(): Promise<void>;
}> {
  const profile = mkdtempSync(join(tmpdir(), "chat-demo-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 800 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, errors, close };
}

export const lastAssistant = (page: Page) => page.locator("[data-testid=message][data-role=ASSISTANT]").last();

/** The text of an assistant message's text parts, joined. */
export async function answerText(page: Page, messageId: string): Promise<string> {
  const texts = await page.locator(`[data-message-id="${messageId}"] [data-part=text]`).allTextContents();
  return texts.join("\n");
}

/** Types into the composer and clicks Send. */
export async function send(page: Page, text: string) {
  await page.getByTestId("composer").fill(text);
  await page.getByTestId("send").click();
}
