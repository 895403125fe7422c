-- Not the issue's reference, but what the service's design needs per POST /devices: the location check, then the
-- device and its device.create event in one transaction (issue 3), sent as one batch. Shows how much of the gap
-- to the reference the database itself accounts for.
SELECT id FROM locations WHERE account_id = :account AND live_mode = false AND id = ANY(ARRAY[:location]);
BEGIN;
INSERT INTO devices (id, account_id, live_mode, reference_id, type, locations, manufacturer, model_code, model_name,
                     power_rating_import_kwh, capacity_kwh, power_rating_export_kwh, pv_azimuth, pv_tilt,
                     pv_terrain_shading, pv_forecasts_enabled, install_date, last_seen, time_created)
VALUES ('dev_' || substr(md5(random()::text || clock_timestamp()::text), 1, 24), :account, false, 'DEV1234567890', 'BATTERY_SYSTEM',
        ARRAY[:location], 'Nova Systems', 'PICOXN2', 'Pico Ultimate', 14.2, 123, 7, 0, 23, false, false,
        '2022-03-22T11:12:21Z', NULL, now());
INSERT INTO events (id, account_id, live_mode, type, data, time_created)
VALUES ('evt_' || substr(md5(random()::text || clock_timestamp()::text), 1, 24), :account, false, 'device.create',
        -- built in SQL: pgbench would read the colons of a JSON literal as its variables
        json_build_object('id', 'dev_6b07462d53c4651defcb59be', 'object', 'device', 'live_mode', false,
          'reference_id', 'DEV1234567890', 'type', 'BATTERY_SYSTEM', 'locations', json_build_array(:location::text),
          'manufacturer', 'Nova Systems', 'model_code', 'PICOXN2', 'model_name', 'Pico Ultimate',
          'time_created', '2026-11-25T20:33:49Z', 'account_id', :account::text,
          'properties', json_build_object('power_rating_import_kwh', 14.2, 'capacity_kwh', 123, 'power_rating_export_kwh', 7,
            'pv_azimuth', 0, 'pv_tilt', 23, 'pv_terrain_shading', false, 'pv_forecasts_enabled', false,
            'install_date', '2022-03-22T11:12:21Z'),
          'last_seen', null),
        now());
COMMIT;
