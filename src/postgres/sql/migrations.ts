/**
 * The versioned migrations, oldest first (applied by `migrate.ts`).
 * @module
 */

/** One migration: a version number and the statements that bring the schema to it. */
export interface Migration {
  /** Version, from 1, strictly increasing. */
  readonly version: number;
  /** What it does. */
  readonly description: string;
  /** Statements, with `$schema` standing for the quoted schema name. */
  readonly statements: readonly string[];
}

/** In a statement trigger with the new rows as `new_rows`: their counts as delta rows (version 8). */
const COUNT_INSERTED = `INSERT INTO $schema.conversation_counts (campaign_id, assignee, status, n)
        SELECT campaign_id, assignee, status, count(*) FROM new_rows GROUP BY 1, 2, 3;`;

/** In a statement trigger with `old_rows` and `new_rows`: the counts it changed as delta rows (version 8). */
const COUNT_UPDATED = `INSERT INTO $schema.conversation_counts (campaign_id, assignee, status, n)
        SELECT campaign_id, assignee, status, sum(d) FROM (
          SELECT campaign_id, assignee, status, -1 AS d FROM old_rows
          UNION ALL SELECT campaign_id, assignee, status, 1 FROM new_rows
        ) x GROUP BY 1, 2, 3 HAVING sum(d) <> 0;`;

/**
 * The first statement of the update trigger's body from version 12 on: a transaction whose claim wrote
 * its own count rows (`claim-counts.ts`, only when version 12 is applied) is not counted again. A later
 * migration that replaces the body must keep it, or every claim that writes them counts twice.
 */
const SKIP_IF_CLAIM_COUNTED = `IF current_setting('selfassign.claim_counted', true) = 'on' THEN RETURN NULL; END IF;`;

/**
 * In a statement trigger with the new rows as `new_rows`: a pool-floor lowering row per campaign at or
 * below its lowest new unassigned row of rank <= 2 (version 10): the least rank, sort key and seq of
 * those rows, each on its own — never above the lowest row in hand-out order, and one hashed pass with
 * no sort (a sort of the rows "unassign all" releases doubled the triggers' time).
 */
const LOWER_POOL_FLOORS = `INSERT INTO $schema.pool_floor_lowers (campaign_id, rank, sort_key, seq)
        SELECT campaign_id, min(rank), min(sort_key), min(seq) FROM new_rows WHERE assignee IS NULL AND rank <= 2 GROUP BY campaign_id;`;

/**
 * Every migration, oldest first. Id columns use `COLLATE "C"`: ids are compared byte for byte, which
 * is what they mean and much cheaper in every index descent than a linguistic collation.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "organizations, campaigns, senders, invite tokens, conversations, opt-outs, claim keys, event outbox",
    statements: [
      `CREATE TABLE $schema.organizations (
        id text COLLATE "C" PRIMARY KEY,
        name text NOT NULL,
        version integer NOT NULL CHECK (version >= 1),
        default_batch_size integer NOT NULL CHECK (default_batch_size BETWEEN 1 AND 5000),
        created_at bigint NOT NULL
      )`,
      `CREATE TABLE $schema.org_members (
        org_id text COLLATE "C" NOT NULL REFERENCES $schema.organizations(id),
        user_id text COLLATE "C" NOT NULL,
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'texter')),
        position bigint NOT NULL,
        PRIMARY KEY (org_id, user_id)
      )`,
      `CREATE TABLE $schema.campaigns (
        id text COLLATE "C" PRIMARY KEY,
        org_id text COLLATE "C" NOT NULL REFERENCES $schema.organizations(id),
        version integer NOT NULL CHECK (version >= 1),
        status text NOT NULL CHECK (status IN ('draft', 'bulk_sending', 'active', 'paused', 'archived')),
        batch_size integer CHECK (batch_size BETWEEN 1 AND 5000),
        next_seq bigint NOT NULL DEFAULT 0,
        data jsonb NOT NULL
      )`,
      `CREATE INDEX campaigns_org ON $schema.campaigns (org_id)`,
      `CREATE TABLE $schema.campaign_senders (
        campaign_id text COLLATE "C" NOT NULL REFERENCES $schema.campaigns(id),
        user_id text COLLATE "C" NOT NULL,
        position bigint NOT NULL,
        added_at bigint NOT NULL,
        via text NOT NULL CHECK (via IN ('admin', 'invite')),
        PRIMARY KEY (campaign_id, user_id)
      )`,
      `CREATE TABLE $schema.invite_tokens (
        token text COLLATE "C" PRIMARY KEY,
        campaign_id text COLLATE "C" NOT NULL REFERENCES $schema.campaigns(id)
      )`,
      `CREATE TABLE $schema.conversations (
        campaign_id text COLLATE "C" NOT NULL REFERENCES $schema.campaigns(id),
        seq bigint NOT NULL,
        contact_id text COLLATE "C" NOT NULL,
        status smallint NOT NULL CHECK (status BETWEEN 0 AND 5),
        rank smallint NOT NULL CHECK (rank BETWEEN 0 AND 4),
        sort_key bigint NOT NULL,
        assignee text COLLATE "C",
        assigned_at bigint,
        reply_at bigint,
        contact_tz text,
        PRIMARY KEY (campaign_id, seq),
        CHECK ((assignee IS NULL) = (assigned_at IS NULL)),
        CHECK ((status = 2) = (reply_at IS NOT NULL))
      )`,
      // One conversation per contact (C2), kept in its own table: conversation rows are updated on
      // every claim, and an update that is not HOT writes an entry into every index of its table.
      `CREATE TABLE $schema.campaign_contacts (
        campaign_id text COLLATE "C" NOT NULL REFERENCES $schema.campaigns(id),
        contact_id text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        PRIMARY KEY (campaign_id, contact_id)
      )`,
      `CREATE INDEX conversations_pool ON $schema.conversations (campaign_id, rank, sort_key, seq)
        WHERE assignee IS NULL AND rank <= 2`,
      `CREATE INDEX conversations_holder ON $schema.conversations (campaign_id, assignee) WHERE assignee IS NOT NULL`,
      `CREATE TABLE $schema.opt_outs (
        org_id text COLLATE "C" NOT NULL REFERENCES $schema.organizations(id),
        contact_id text COLLATE "C" NOT NULL,
        at bigint NOT NULL,
        PRIMARY KEY (org_id, contact_id)
      )`,
      `CREATE TABLE $schema.claim_keys (
        campaign_id text COLLATE "C" NOT NULL REFERENCES $schema.campaigns(id),
        texter_id text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        conversations jsonb NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (campaign_id, texter_id, key)
      )`,
      `CREATE TABLE $schema.events (
        id bigserial PRIMARY KEY,
        seq bigint UNIQUE,
        type text NOT NULL,
        at bigint NOT NULL,
        org_id text COLLATE "C" NOT NULL,
        campaign_id text COLLATE "C",
        actor_id text COLLATE "C",
        data jsonb NOT NULL,
        acknowledged_at timestamptz
      )`,
      `CREATE INDEX events_unsequenced ON $schema.events (id) WHERE seq IS NULL`,
      `CREATE TABLE $schema.event_counter (
        single boolean PRIMARY KEY DEFAULT true CHECK (single),
        last_seq bigint NOT NULL
      )`,
      `INSERT INTO $schema.event_counter (last_seq) VALUES (0)`,
    ],
  },
  {
    version: 2,
    description: "bulk send: leases of pending initial messages",
    statements: [
      `ALTER TABLE $schema.conversations ADD COLUMN lease_owner text COLLATE "C", ADD COLUMN lease_until bigint`,
      `CREATE INDEX conversations_pending ON $schema.conversations (campaign_id, seq) WHERE status = 0`,
    ],
  },
  {
    version: 3,
    description: "contact time zones per campaign (T2)",
    statements: [
      `CREATE TABLE $schema.campaign_time_zones (
        campaign_id text COLLATE "C" NOT NULL REFERENCES $schema.campaigns(id),
        tz text COLLATE "C" NOT NULL,
        PRIMARY KEY (campaign_id, tz)
      )`,
      // Not-started work by contact zone, so a claim can read only the zones inside texting hours.
      `CREATE INDEX conversations_pool_by_zone ON $schema.conversations (campaign_id, (coalesce(contact_tz, '')), sort_key, seq)
        WHERE assignee IS NULL AND rank = 1`,
    ],
  },
  {
    version: 4,
    description: "bulk send: a pending counter per running bulk send, so the step that leaves nothing pending finishes it (C6)",
    statements: [
      `ALTER TABLE $schema.campaigns ADD COLUMN bulk_pending bigint`,
      `UPDATE $schema.campaigns c SET data = jsonb_set(c.data, '{bulkSend}', '{"finishedAt": null}'),
         bulk_pending = (SELECT count(*) FROM $schema.conversations v WHERE v.campaign_id = c.id AND v.status = 0)
       WHERE c.status = 'bulk_sending'`,
    ],
  },
  {
    version: 5,
    description: "sets are rows: member added_at, roster and campaign positions from sequences, roster and fact indexes, event consumers",
    statements: [
      // Members get the time they were added; existing members take their organization's creation time.
      `ALTER TABLE $schema.org_members ADD COLUMN added_at bigint`,
      `UPDATE $schema.org_members m SET added_at = o.created_at FROM $schema.organizations o WHERE o.id = m.org_id`,
      `ALTER TABLE $schema.org_members ALTER COLUMN added_at SET NOT NULL`,
      // Positions (the order rows were added: listings and the launch split, C4) come from sequences,
      // not max(position) + 1 (a scan of the roster, and a race). They start above every existing
      // position, so existing rosters keep their order and new rows follow.
      `CREATE SEQUENCE $schema.org_members_position OWNED BY $schema.org_members.position`,
      `SELECT setval('$schema.org_members_position', (SELECT coalesce(max(position), 0) + 1 FROM $schema.org_members), false)`,
      `ALTER TABLE $schema.org_members ALTER COLUMN position SET DEFAULT nextval('$schema.org_members_position')`,
      `CREATE SEQUENCE $schema.campaign_senders_position OWNED BY $schema.campaign_senders.position`,
      `SELECT setval('$schema.campaign_senders_position', (SELECT coalesce(max(position), 0) + 1 FROM $schema.campaign_senders), false)`,
      `ALTER TABLE $schema.campaign_senders ALTER COLUMN position SET DEFAULT nextval('$schema.campaign_senders_position')`,
      // Campaigns listed in the order they were created: existing ones by creation time, then id.
      `ALTER TABLE $schema.campaigns ADD COLUMN position bigint`,
      `UPDATE $schema.campaigns c SET position = o.n
       FROM (SELECT id, row_number() OVER (ORDER BY (data->>'createdAt')::bigint, id) AS n FROM $schema.campaigns) o WHERE o.id = c.id`,
      `CREATE SEQUENCE $schema.campaigns_position OWNED BY $schema.campaigns.position`,
      `SELECT setval('$schema.campaigns_position', (SELECT coalesce(max(position), 0) + 1 FROM $schema.campaigns), false)`,
      `ALTER TABLE $schema.campaigns ALTER COLUMN position SET DEFAULT nextval('$schema.campaigns_position'), ALTER COLUMN position SET NOT NULL`,
      `DROP INDEX $schema.campaigns_org`,
      `CREATE INDEX campaigns_org_order ON $schema.campaigns (org_id, position)`,
      // Rosters read a page at a time in position order; owners are counted by the last-owner rule;
      // a member's sender rows are found when removing them (a_sender).
      `CREATE INDEX org_members_order ON $schema.org_members (org_id, position)`,
      `CREATE INDEX org_members_owners ON $schema.org_members (org_id) WHERE role = 'owner'`,
      `CREATE INDEX campaign_senders_order ON $schema.campaign_senders (campaign_id, position)`,
      `CREATE INDEX campaign_senders_user ON $schema.campaign_senders (user_id)`,
      // The aggregate no longer carries a roster; rows written before bulk sends existed get one of null.
      `UPDATE $schema.campaigns SET data = (data - 'senders') || jsonb_build_object('bulkSend', coalesce(data->'bulkSend', 'null'::jsonb))
       WHERE data ? 'senders' OR NOT data ? 'bulkSend'`,
      // Named event consumers and their positions (facts below every consumer's may be pruned).
      `CREATE TABLE $schema.event_consumers (name text COLLATE "C" PRIMARY KEY, position bigint NOT NULL CHECK (position >= 0))`,
      // The fact log read by organization or campaign (FactQuery).
      `CREATE INDEX events_org ON $schema.events (org_id, seq)`,
      `CREATE INDEX events_campaign ON $schema.events (campaign_id, seq) WHERE campaign_id IS NOT NULL`,
    ],
  },
  {
    version: 6,
    description: "events: actor types; numbering that never waits for another reader (number_events)",
    statements: [
      // Who acted: a user, a system actor, or the host reporting (no actor). Left nullable so a
      // process still running the previous release can insert during a rolling upgrade; readers fill
      // a missing one in exactly as this backfill does.
      `ALTER TABLE $schema.events ADD COLUMN actor_type text CHECK (actor_type IN ('user', 'system', 'host'))`,
      `UPDATE $schema.events SET actor_type = CASE WHEN actor_id IS NULL THEN 'host' ELSE 'user' END`,
      // Number committed facts if nobody else is numbering right now (try-lock, never a wait); return
      // the newest position and whether unnumbered facts were left for another reader to number. A
      // volatile PL/pgSQL function takes a fresh snapshot for each statement, so the numbering runs
      // in a snapshot taken after the lock: it sees every position given before. One statement, one
      // round trip, and the lock is transaction-level (works behind PgBouncer in transaction mode).
      `CREATE FUNCTION $schema.number_events(OUT head bigint, OUT missed boolean) LANGUAGE plpgsql AS $body$
      DECLARE
        numbered bigint;
      BEGIN
        missed := false;
        IF EXISTS (SELECT 1 FROM $schema.events WHERE seq IS NULL) THEN
          IF pg_try_advisory_xact_lock(hashtext('selfassign:events:$schema')) THEN
            WITH ready AS (
              SELECT id, row_number() OVER (ORDER BY id) AS n FROM $schema.events WHERE seq IS NULL
            ), base AS (
              SELECT last_seq FROM $schema.event_counter
            )
            UPDATE $schema.events e SET seq = base.last_seq + ready.n FROM ready, base WHERE e.id = ready.id;
            GET DIAGNOSTICS numbered = ROW_COUNT;
            IF numbered > 0 THEN
              UPDATE $schema.event_counter SET last_seq = last_seq + numbered RETURNING last_seq INTO head;
              RETURN;
            END IF;
          ELSE
            missed := true;
          END IF;
        END IF;
        SELECT last_seq INTO head FROM $schema.event_counter;
      END
      $body$`,
    ],
  },
  {
    version: 7,
    description: "claims write two index entries per row, not three: no pending index; the holder index in hand-out order; the unassigned index over every status",
    statements: [
      // A claim's UPDATE is not HOT (it changes `assignee`, which the indexes read), so the new row
      // version gets an entry in every index whose predicate it meets. `conversations_pending`
      // (status = 0) took one for every not-started row claimed; pending rows that nobody holds are
      // the not-started range of the unassigned index (rank 1, in import order), and while a bulk
      // send runs nobody holds one (C6), so leases and pending counts read that range instead.
      `DROP INDEX $schema.conversations_pending`,
      // A holder's rows in hand-out order: listings by holder, gate and cap counts, moves from
      // holders and held pending rows read index ranges, whatever the campaign's size.
      `DROP INDEX $schema.conversations_holder`,
      `CREATE INDEX conversations_held ON $schema.conversations (campaign_id, assignee, rank, sort_key, seq) WHERE assignee IS NOT NULL`,
      // Unassigned rows of every status (closed and opted-out ones sort last, rank 3 and 4), so a
      // listing of unassigned conversations is an index range too; claims read the rank <= 2 part.
      `DROP INDEX $schema.conversations_pool`,
      `CREATE INDEX conversations_pool ON $schema.conversations (campaign_id, rank, sort_key, seq) WHERE assignee IS NULL`,
    ],
  },
  {
    version: 8,
    description: "conversation counts kept as delta rows by statement triggers: the overview reads a few rows, not the campaign",
    statements: [
      // Counts by campaign, holder (NULL: nobody) and status, as delta rows: every statement that
      // writes conversations inserts one row per (holder, status) whose count it changed, in its own
      // transaction, so the counts are exact at every snapshot (I8) and concurrent claims never wait
      // for each other on a counter row. `compactCounts` folds a campaign's rows into one per group.
      `CREATE TABLE $schema.conversation_counts (
        campaign_id text COLLATE "C" NOT NULL,
        assignee text COLLATE "C",
        status smallint NOT NULL,
        n bigint NOT NULL
      )`,
      `CREATE INDEX conversation_counts_campaign ON $schema.conversation_counts (campaign_id)`,
      // No key (delta rows are never looked up one by one): deletes identify rows by their whole
      // content, so a publication for logical replication that covers this table still accepts the
      // compaction's DELETE.
      `ALTER TABLE $schema.conversation_counts REPLICA IDENTITY FULL`,
      `CREATE FUNCTION $schema.count_conversations_inserted() RETURNS trigger LANGUAGE plpgsql AS $body$
      BEGIN
        ${COUNT_INSERTED}
        RETURN NULL;
      END
      $body$`,
      `CREATE FUNCTION $schema.count_conversations_updated() RETURNS trigger LANGUAGE plpgsql AS $body$
      BEGIN
        ${COUNT_UPDATED}
        RETURN NULL;
      END
      $body$`,
      `CREATE FUNCTION $schema.count_conversations_deleted() RETURNS trigger LANGUAGE plpgsql AS $body$
      BEGIN
        INSERT INTO $schema.conversation_counts (campaign_id, assignee, status, n)
        SELECT campaign_id, assignee, status, -count(*) FROM old_rows GROUP BY 1, 2, 3;
        RETURN NULL;
      END
      $body$`,
      // The triggers first: creating one locks out writers to the table until this migration commits,
      // so the backfill below (a later snapshot) counts every row written before, and the triggers
      // every row written after.
      `CREATE TRIGGER conversations_count_inserted AFTER INSERT ON $schema.conversations
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION $schema.count_conversations_inserted()`,
      `CREATE TRIGGER conversations_count_updated AFTER UPDATE ON $schema.conversations
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION $schema.count_conversations_updated()`,
      `CREATE TRIGGER conversations_count_deleted AFTER DELETE ON $schema.conversations
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION $schema.count_conversations_deleted()`,
      `INSERT INTO $schema.conversation_counts (campaign_id, assignee, status, n)
        SELECT campaign_id, assignee, status, count(*) FROM $schema.conversations GROUP BY 1, 2, 3`,
    ],
  },
  {
    version: 9,
    description: "facts stored as json, not jsonb: written and read as text, never parsed into binary and printed back",
    statements: [
      // Nothing queries inside a fact: every reader takes the whole payload to Node. jsonb parsed each
      // fact on insert (a claim's fact lists its conversations: kilobytes) and printed it back on every
      // read, once per consumer; json keeps the text. Rewrites the table (prune first if it is large).
      `ALTER TABLE $schema.events ALTER COLUMN data TYPE json USING data::json`,
    ],
  },
  {
    version: 10,
    description: "a floor per campaign below which no unassigned row lies: claims start their index range there, not at the claimed rows' dead entries",
    statements: [
      // Claimed rows leave dead entries at the front of the unassigned index until VACUUM, and every
      // claim's range scan walked them (11.7 ms at 90% of 1 M drained, against 0.7 ms fresh). The
      // floor is a position in hand-out order (rank, sort_key, seq): no committed unassigned row of
      // rank <= 2 lies below the lowest of the campaign's floor row and its lowering rows. Writers
      // never wait for it: a statement that leaves unassigned rows (import, release, reply, …) inserts
      // a lowering row at the lowest of them (the triggers below, in its own transaction); a claim
      // raises the floor row to the first unassigned row its snapshot sees (rows other claims are
      // taking still look unassigned, so the floor never passes them) and deletes the lowering rows
      // that snapshot saw, only when it got the floor row's lock at once (SKIP LOCKED) and no other claim
      // raised it since that snapshot (`gen`: `claim.ts`). A floor at rank -1 (a new campaign's), or
      // none at all, is the start of the range.
      // Writers wait until the triggers below are in place: a release whose statement ran under the
      // old trigger body (no lowering row) and committed after a claim moved the floor above its rows
      // would leave them stranded below it.
      `LOCK TABLE $schema.conversations IN SHARE ROW EXCLUSIVE MODE`,
      `CREATE TABLE $schema.pool_floors (
        campaign_id text COLLATE "C" PRIMARY KEY,
        rank smallint NOT NULL,
        sort_key bigint NOT NULL,
        seq bigint NOT NULL,
        gen bigint NOT NULL DEFAULT 0
      )`,
      `CREATE TABLE $schema.pool_floor_lowers (
        campaign_id text COLLATE "C" NOT NULL,
        rank smallint NOT NULL,
        sort_key bigint NOT NULL,
        seq bigint NOT NULL
      )`,
      `CREATE INDEX pool_floor_lowers_order ON $schema.pool_floor_lowers (campaign_id, rank, sort_key, seq)`,
      // No key (rows are never looked up one by one): every claim's DELETE of lowering rows would fail
      // under a logical-replication publication that covers the table without a replica identity.
      `ALTER TABLE $schema.pool_floor_lowers REPLICA IDENTITY FULL`,
      // Every campaign gets its floor row at the start, whichever release's process creates it.
      `CREATE FUNCTION $schema.add_pool_floor() RETURNS trigger LANGUAGE plpgsql AS $body$
      BEGIN
        INSERT INTO $schema.pool_floors (campaign_id, rank, sort_key, seq) VALUES (NEW.id, -1, 0, 0) ON CONFLICT DO NOTHING;
        RETURN NULL;
      END
      $body$`,
      `CREATE TRIGGER campaigns_pool_floor AFTER INSERT ON $schema.campaigns FOR EACH ROW EXECUTE FUNCTION $schema.add_pool_floor()`,
      `INSERT INTO $schema.pool_floors (campaign_id, rank, sort_key, seq) SELECT id, -1, 0, 0 FROM $schema.campaigns`,
      `CREATE OR REPLACE FUNCTION $schema.count_conversations_inserted() RETURNS trigger LANGUAGE plpgsql AS $body$
      BEGIN
        ${COUNT_INSERTED}
        ${LOWER_POOL_FLOORS}
        RETURN NULL;
      END
      $body$`,
      `CREATE OR REPLACE FUNCTION $schema.count_conversations_updated() RETURNS trigger LANGUAGE plpgsql AS $body$
      BEGIN
        ${COUNT_UPDATED}
        ${LOWER_POOL_FLOORS}
        RETURN NULL;
      END
      $body$`,
    ],
  },
  {
    version: 11,
    description: "a floor per contact zone: zoned claims start each zone's index range there, not at its claimed rows' dead entries",
    statements: [
      // With closed contact zones (T2) a claim reads one range of the per-zone index per open zone, and
      // the pool floor cannot help it: it stops at the first unassigned row of a closed zone. Each
      // zone's floor (sort_key, seq) is kept in the campaign's floor row, as `zones` {tz: [sort_key,
      // seq]} ('' for contacts of unknown zone; none: the start), under the same rules as the pool
      // floor: a claim moves the zones it read to the first row its snapshot sees, and brings every
      // other zone's floor down to the lowest lowering row of rank <= 1 it deletes (`claim.ts`).
      // `zone_gen` is the `gen` the zone floors were kept at: a raise by a process that predates them
      // leaves them behind, and they count again only after a raise that keeps them.
      `ALTER TABLE $schema.pool_floors ADD COLUMN zones jsonb NOT NULL DEFAULT '{}'::jsonb, ADD COLUMN zone_gen bigint NOT NULL DEFAULT -1`,
    ],
  },
  {
    version: 12,
    description: "a one-round-trip claim writes its own count rows: the update trigger skips a statement that says it did",
    statements: [
      // The trigger's two passes over 300 old and 300 new rows cost a claim more than the counts it
      // can write itself: it moves its rows, by status, from nobody to its texter. A transaction that set
      // `selfassign.claim_counted` (`claim-counts.ts`: its one UPDATE is a hand-out, whose new rows are
      // all assigned, so no floor lowers either) is skipped; the claim writes its rows only when this
      // version is applied, so a process that sets it against an older trigger never counts twice.
      // Writers wait until the new body is in place: a claim whose statement saw no version 12 but
      // whose trigger ran the new body would count nothing.
      `LOCK TABLE $schema.conversations IN SHARE ROW EXCLUSIVE MODE`,
      `CREATE OR REPLACE FUNCTION $schema.count_conversations_updated() RETURNS trigger LANGUAGE plpgsql AS $body$
      BEGIN
        ${SKIP_IF_CLAIM_COUNTED}
        ${COUNT_UPDATED}
        ${LOWER_POOL_FLOORS}
        RETURN NULL;
      END
      $body$`,
    ],
  },
  {
    version: 13,
    description: "numbering reads the index of unnumbered facts, not a bitmap of every fact numbered since the last VACUUM, and is never JIT-compiled",
    // Each numbered fact leaves an old version whose `seq` is NULL until VACUUM. Estimating many rows
    // (an events table never analyzed), the planner read "seq IS NULL" as a bitmap of the UNIQUE index
    // on seq — every such version, 7,000 heap pages per numbering at 50,000 — not an ordered scan of
    // `events_unsequenced`, whose dead entries it steps over. The same estimate crossed jit_above_cost.
    statements: [`ALTER FUNCTION $schema.number_events() SET enable_bitmapscan = off`, `ALTER FUNCTION $schema.number_events() SET jit = off`],
  },
];
