-- The language of a decision's texts (en, pt or fr), so that replaying it with its model gives
-- the identical answer. Empty for decisions made before it was recorded: a replay then finds it
-- by comparing the texts.
ALTER TABLE decisions ADD COLUMN language TEXT NOT NULL DEFAULT '';
