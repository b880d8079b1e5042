import { randomUUID } from "node:crypto";
import type { GraphiQLOptions } from "graphql-yoga";

// GraphiQL opens with a short guide: the default page loads from a CDN, so the
// self-contained @graphql-yoga/render-graphiql page is served instead. The
// example ids are fresh on every page load (chat ids are global, so a fixed one
// would belong to whoever used it first).
function guide(): string {
  const chatId = randomUUID();
  return `# Welcome to the chat gateway.
#
# 1. Run SignIn (no token needed).
# 2. Put its token in the Headers tab below:
#      { "Authorization": "Bearer <token>" }
# 3. Run the other operations (the run button asks
#    which). SendMessage streams its events over SSE.
#    An unknown chatId starts a new chat; each message
#    needs a new id: change a digit of message.id
#    before sending again. With [slow] in the text the
#    answer is long: StopStream (in a second tab)
#    stops it, and ChatHistory shows what was stored.

mutation SignIn {
  createGuestSession { token user { id type messagesLeftToday } }
}

query Me {
  me { id type messagesLeftToday }
}

query MyChats {
  chats(first: 10) {
    edges { node { id title visibility createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}

subscription SendMessage {
  sendMessage(input: {
    chatId: "${chatId}"
    message: { id: "${randomUUID()}", parts: [{ text: "What is the weather in Paris?" }] }
  }) {
    __typename
    ... on StreamEvent { seq }
    ... on StreamStarted { assistantMessageId }
    ... on ReasoningDelta { delta }
    ... on TextDelta { delta }
    ... on ToolInputAvailable { toolName input }
    ... on ToolOutputAvailable { output }
    ... on StreamFinished { finishReason message { id status } usage { totalTokens } }
    ... on StreamAborted { reason }
    ... on StreamFailed { code reason }
  }
}

mutation StopStream {
  stopStream(chatId: "${chatId}")
}

query ChatHistory {
  chat(id: "${chatId}") {
    title
    messages(first: 20) {
      edges { node { role status parts { __typename ... on TextPart { text } } } }
    }
  }
}
`;
}

export const graphiqlOptions = (): GraphiQLOptions => ({
  title: "Chat gateway",
  defaultQuery: guide(),
  defaultHeaders: JSON.stringify({ Authorization: "Bearer <paste the token here>" }, null, 2),
  subscriptionsProtocol: "SSE",
  shouldPersistHeaders: true,
  // Lets its GET requests (subscriptions over SSE) through CSRF prevention without a token.
  additionalHeaders: { "x-graphql-yoga-csrf": "graphiql" },
});
