-- The database work of one POST /devices, as pgbench runs it: ONE statement that checks the locations, inserts the
-- device only when all are found, records it at its location (the foreign key to locations checks it again, and
-- locks it against a delete), and inserts its device.create event from the inserted row. The service sends the same
-- work for many devices at once (Devices/DeviceCreates.cs); this is its shape for one.
WITH found AS (
    SELECT l.id FROM locations l
    WHERE l.account_id = :account AND l.live_mode = false AND l.id = ANY(ARRAY[:location]::text[])
), missing AS (
    SELECT min(wanted.ord)::int - 1 AS index
    FROM unnest(ARRAY[:location]::text[]) WITH ORDINALITY AS wanted(id, ord)
    WHERE wanted.id <> ALL (ARRAY(SELECT found.id FROM found))
), changed AS (
    INSERT INTO devices (account_id, live_mode, id, reference_id, type, locations, manufacturer, model_code, model_name,
                         power_rating_import_kwh, capacity_kwh, power_rating_export_kwh, pv_azimuth, pv_tilt,
                         pv_terrain_shading, pv_forecasts_enabled, install_date, last_seen, time_created)
    SELECT :account, false, 'dev_' || substr(md5(random()::text || clock_timestamp()::text), 1, 24), 'DEV1234567890', 'BATTERY_SYSTEM',
           ARRAY[:location], 'Nova Systems', 'PICOXN2', 'Pico Ultimate', 14.2, 123, 7, 0, 23, false, false,
           '2022-03-22T11:12:21Z', NULL, now()
    FROM missing WHERE missing.index IS NULL
    RETURNING account_id, live_mode, id
), located AS (
    INSERT INTO device_locations (account_id, live_mode, location_id, device_id)
    SELECT c.account_id, c.live_mode, l.id, c.id FROM changed c, unnest(ARRAY[:location]::text[]) AS l(id)
), change_event AS (
    INSERT INTO events (account_id, live_mode, id, type, object_id, data, time_created)
    SELECT c.account_id, c.live_mode, 'evt_' || substr(md5(random()::text || clock_timestamp()::text), 1, 24), 'device.create', c.id,
           -- built in SQL: pgbench would read the colons of a JSON literal as its variables
           json_build_object('id', c.id, 'object', 'device', 'live_mode', false,
             'reference_id', 'DEV1234567890', 'type', 'BATTERY_SYSTEM', 'locations', json_build_array(:location::text),
             'manufacturer', 'Nova Systems', 'model_code', 'PICOXN2', 'model_name', 'Pico Ultimate',
             'time_created', '2026-11-25T20:33:49Z', 'account_id', :account::text,
             'properties', json_build_object('power_rating_import_kwh', 14.2, 'capacity_kwh', 123, 'power_rating_export_kwh', 7,
               'pv_azimuth', 0, 'pv_tilt', 23, 'pv_terrain_shading', false, 'pv_forecasts_enabled', false,
               'install_date', '2022-03-22T11:12:21Z'),
             'last_seen', null),
           now()
    FROM changed c
)
SELECT (SELECT index FROM missing);
