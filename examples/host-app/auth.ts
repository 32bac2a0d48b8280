/**
 * Identity — A STAND-IN. THIS IS WHERE A REAL APP PLUGS IN ITS AUTH.
 *
 * The demo trusts a signed cookie holding a user id, set by the "log in as" picker at /login. A real
 * service replaces `logIn`/`currentUser` with its session or token check (OAuth, passkeys, your SSO…)
 * and hands the engine the id it authenticated. selfassign authenticates nobody: it checks roles
 * (owner, admin, texter) for the `actorId` you pass, so the id must come from your auth, never from
 * the request body.
 */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";

const COOKIE = "demo_user";

/** Variables the middleware puts on the request context. */
export type AuthEnv = { Variables: { userId: string } };

export function createAuth(secret: string) {
  return {
    /** The authenticated user id, or `null`. */
    async currentUser(c: Context): Promise<string | null> {
      const value = await getSignedCookie(c, secret, COOKIE);
      return typeof value === "string" && value !== "" ? value : null;
    },
    /** Demo log-in: whoever you pick. A real app verifies a password, a token, a provider's callback… */
    async logIn(c: Context, userId: string): Promise<void> {
      await setSignedCookie(c, COOKIE, userId, secret, { path: "/", httpOnly: true, sameSite: "Lax" });
    },
    logOut(c: Context): void {
      deleteCookie(c, COOKIE, { path: "/" });
    },
    /** Pages behind it need a user: without one, go to the picker. */
    required(): MiddlewareHandler<AuthEnv> {
      return async (c, next) => {
        const userId = await this.currentUser(c);
        if (userId === null) return c.redirect(`/login?next=${encodeURIComponent(c.req.path + new URL(c.req.url).search)}`);
        c.set("userId", userId);
        await next();
      };
    },
  };
}

export type Auth = ReturnType<typeof createAuth>;
