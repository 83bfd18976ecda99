import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type Role = 'admin' | 'agent';
export type Language = 'sv' | 'en';
export type StatusKind = 'open' | 'waiting' | 'work_order' | 'closed';

export interface UsersTable {
  id: Generated<number>;
  login: string;
  name: string;
  initials: string;
  email: string | null;
  role: Role;
  language: Language | null;
  active: Generated<boolean>;
  password_hash: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SessionsTable {
  sid: string;
  data: ColumnType<unknown, string, string>;
  user_id: number | null;
  expires_at: Timestamp;
}

export interface LoginAttemptsTable {
  id: Generated<string>;
  login: string;
  ip: string;
  succeeded: boolean;
  created_at: Timestamp;
}

export interface AppSecretsTable {
  name: string;
  value: string;
  created_at: Timestamp;
}

export interface CustomersTable {
  id: Generated<number>;
  number: string;
  name: string;
  email_domains: ColumnType<string[], string[] | undefined, string[]>;
  active: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ContactsTable {
  id: Generated<number>;
  customer_id: number;
  name: string;
  email: string | null;
  phone: string | null;
  active: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CaseTypesTable {
  id: Generated<number>;
  name: string;
  position: Generated<number>;
  active: Generated<boolean>;
}

export interface CaseStatusesTable {
  id: Generated<number>;
  name: string;
  kind: StatusKind;
  position: Generated<number>;
  active: Generated<boolean>;
}

export interface PrioritiesTable {
  id: Generated<number>;
  name: string;
  rank: number;
  active: Generated<boolean>;
}

export interface NumberSeriesTable {
  id: Generated<number>;
  name: string;
  prefix: string;
  next_number: number;
  digits: number;
  active: Generated<boolean>;
}

export interface CannedRepliesTable {
  id: Generated<number>;
  title: string;
  body_html: string;
  active: Generated<boolean>;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  login_attempts: LoginAttemptsTable;
  app_secrets: AppSecretsTable;
  customers: CustomersTable;
  contacts: ContactsTable;
  case_types: CaseTypesTable;
  case_statuses: CaseStatusesTable;
  priorities: PrioritiesTable;
  number_series: NumberSeriesTable;
  canned_replies: CannedRepliesTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type Customer = Selectable<CustomersTable>;
export type Contact = Selectable<ContactsTable>;
