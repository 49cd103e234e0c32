-- Class types (issue 4, item 1): a studio's catalogue of what it teaches, with the
-- duration, capacity and booking policy that classes scheduled from it copy.
-- Read model: one document per class type (domain::scheduling::class_type::ClassTypeView).
CREATE TABLE class_type_view (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    name        text        NOT NULL,
    archived    boolean     NOT NULL,
    version     bigint      NOT NULL,
    doc         jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX class_type_view_list ON class_type_view (tenant_id, archived, name);

SELECT repstream_secure_table('class_type_view');
