-- Findings resolved during the last 7 days: the resource is gone or no
-- longer wasteful, and the run that noticed scanned its account, region and check.
SELECT account_id,
       region,
       check_id,
       resource_id,
       ROUND(monthly_cost_usd, 2) AS monthly_usd_saved,
       resolved_at,
       run_id AS resolved_by_run
FROM findings
WHERE status = 'resolved'
  AND resolved_at >= CAST(current_timestamp AS timestamp) - INTERVAL '7' DAY
ORDER BY resolved_at DESC, finding_id
