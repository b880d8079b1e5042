import type { GraphiQLOptions } from "graphql-yoga";

// GraphiQL opens with a short guide: the default page loads from a CDN, so the
// self-contained @graphql-yoga/render-graphiql page is served instead.
const GUIDE = `# Welcome to the chat gateway.
#
# 1. Run the createGuestSession mutation below (no token needed).
# 2. Copy its token into the Headers tab:
#      { "Authorization": "Bearer <token>" }
# 3. Try the other operations; sendMessage streams over SSE.

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
`;

export const graphiqlOptions: GraphiQLOptions = {
  title: "Chat gateway",
  defaultQuery: GUIDE,
  defaultHeaders: JSON.stringify({ Authorization: "Bearer <paste the token here>" }, null, 2),
  subscriptionsProtocol: "SSE",
  shouldPersistHeaders: true,
};
