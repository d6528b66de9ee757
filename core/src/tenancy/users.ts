import { newId } from '../ids.js';
import type { Queryable } from './db.js';
import { parseInput, translatePgError } from './errors.js';
import { createUserSchema, type CreateUserInput } from './schemas.js';

export interface User {
  id: string;
  email: string;
  name: string;
  createdAt: Date;
}

interface UserRow {
  id: string;
  email: string;
  name: string;
  created_at: Date;
}

export const USER_COLUMNS = 'id, email, name, created_at';

export function toUser(r: UserRow): User {
  return { id: r.id, email: r.email, name: r.name, createdAt: r.created_at };
}

/**
 * Creates a user. Users belong to no organization, so there is no audit entry here;
 * joining an organization (member.add, invitation.accept) is what gets audited.
 * Emails are unique regardless of case (conflict on `email`).
 */
export async function createUser(db: Queryable, input: CreateUserInput): Promise<User> {
  const { email, name } = parseInput(createUserSchema, input);
  try {
    const { rows } = await db.query<UserRow>(`INSERT INTO users (id, email, name) VALUES ($1, $2, $3) RETURNING ${USER_COLUMNS}`, [newId('usr'), email, name]);
    return toUser(rows[0]!);
  } catch (err) {
    throw translatePgError(err);
  }
}

export async function getUser(db: Queryable, userId: string): Promise<User | null> {
  const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [userId]);
  return rows[0] ? toUser(rows[0]) : null;
}

/** Case-insensitive, like the unique index on users. */
export async function findUserByEmail(db: Queryable, email: string): Promise<User | null> {
  const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE lower(email) = lower($1)`, [email.trim()]);
  return rows[0] ? toUser(rows[0]) : null;
}
