// The message box of both demo pages: Enter sends, Shift+Enter is a new line,
// a character count against the gateway's limit, and Stop while an answer streams.
import { useEffect, useId, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { charCount, MAX_MESSAGE_CHARS } from "./refusal.ts";

// Stop turns into Send where the pointer is: a double click, or Enter pressed
// twice on Stop, would send the draft. Send comes back from a stop disabled for
// this long, so the stop's second click or key press does nothing.
const AFTER_STOP_MS = 600;

export interface ComposerProps {
  text: string;
  onText(text: string): void;
  /** Called with the trimmed text; the page decides whether to clear the box. */
  onSend(text: string): void;
  isStreaming: boolean;
  onStop(): void;
}

export function Composer({ text, onText, onSend, isStreaming, onStop }: ComposerProps) {
  const over = text.length > MAX_MESSAGE_CHARS;
  const countId = useId();
  const stopped = useRef(false);
  const wasStreaming = useRef(isStreaming);
  const [settling, setSettling] = useState(false);
  const box = useRef<HTMLTextAreaElement>(null);
  // Before paint (its state update renders again at once): no click reaches an enabled Send first.
  useLayoutEffect(() => {
    const afterStop = wasStreaming.current && !isStreaming && stopped.current;
    if (!isStreaming) stopped.current = false;
    wasStreaming.current = isStreaming;
    if (!afterStop) {
      // (A timer cleared by a quick new turn must not leave Send disabled.)
      setSettling(false);
      return;
    }
    setSettling(true);
    // Stop's button is gone: the keyboard goes on from the message box, not the page.
    box.current?.focus();
    const timer = setTimeout(() => setSettling(false), AFTER_STOP_MS);
    return () => clearTimeout(timer);
  }, [isStreaming]);
  // The box a person types into next: after sign-in, and on opening a chat.
  useEffect(() => box.current?.focus(), []);
  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    const content = text.trim();
    if (content && !isStreaming && !settling) onSend(content);
  };
  const stop = () => {
    stopped.current = true;
    onStop();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    // Enter that picks an input method's conversion (Japanese, Chinese, Korean) is not a send.
    if (event.nativeEvent.isComposing || event.keyCode === 229) return;
    if (event.key === "Enter" && !event.shiftKey) submit(event);
  };
  return (
    <form className="composer" onSubmit={submit}>
      <div className="composer-box">
        <textarea
          data-testid="composer"
          value={text}
          placeholder="Message (Enter sends, Shift+Enter for a new line)"
          aria-label="Message"
          ref={box}
          aria-describedby={countId}
          rows={2}
          aria-invalid={over}
          onChange={(e) => onText(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <span
          id={countId}
          className={over ? "char-count over" : "char-count"}
          data-testid="char-count"
          data-over={over}
        >
          {charCount(text)}
          {over && " (too long to send)"}
        </span>
      </div>
      {isStreaming ? (
        <button key="stop" type="button" data-testid="stop" onClick={stop}>
          Stop
        </button>
      ) : (
        <button key="send" type="submit" data-testid="send" disabled={!text.trim() || settling}>
          Send
        </button>
      )}
    </form>
  );
}
