-- Achievements: badges a user earned and learning goals with daily check-in streaks.
-- Both belong to a user and go with them (ON DELETE CASCADE). `name_key` is the badge
-- name lower-cased by the application, so that one unique index makes the same badge
-- twice for one user impossible, ignoring case, on both engines alike.

CREATE TABLE badges (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    description TEXT,
    icon_url TEXT,
    date_achieved TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX badges_user_name_key ON badges (user_id, name_key);
CREATE INDEX badges_user_achieved ON badges (user_id, date_achieved, id);

CREATE TABLE goals (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL DEFAULT 'not-started'
        CHECK (status IN ('not-started', 'in-progress', 'completed', 'abandoned')),
    streak_count BIGINT NOT NULL DEFAULT 0 CHECK (streak_count >= 0),
    last_check_in DATE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ,
    CHECK ((status = 'completed') = (completed_at IS NOT NULL))
);
CREATE INDEX goals_user ON goals (user_id, id);
CREATE INDEX goals_user_status ON goals (user_id, status, id);
