-- The language of an account's pages and mails (`en`, `de`, ...; see `src/i18n`). NULL:
-- the pages follow the browser's Accept-Language and mails are in English. Checked
-- against the supported languages by the application, so that adding a language needs
-- no migration.
ALTER TABLE users ADD COLUMN locale TEXT;
