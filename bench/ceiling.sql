-- The database work one POST /devices needs, in its plainest form (issue 5's fixed reference):
-- the location-existence SELECT, then the device INSERT; two statements, autocommit.
SELECT count(*) FROM locations WHERE account_id = :account AND live_mode = false AND id = ANY(ARRAY[:location]);
INSERT INTO devices (id, account_id, live_mode, reference_id, type, locations, manufacturer, model_code, model_name,
                     power_rating_import_kwh, capacity_kwh, power_rating_export_kwh, pv_azimuth, pv_tilt,
                     pv_terrain_shading, pv_forecasts_enabled, install_date, last_seen, time_created)
VALUES ('dev_' || substr(md5(random()::text || clock_timestamp()::text), 1, 24), :account, false, 'DEV1234567890', 'BATTERY_SYSTEM',
        ARRAY[:location], 'Nova Systems', 'PICOXN2', 'Pico Ultimate', 14.2, 123, 7, 0, 23, false, false,
        '2022-03-22T11:12:21Z', NULL, now());
