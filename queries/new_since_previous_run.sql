-- Findings the latest run opened: not open in the run before it.
SELECT account_id,
       region,
       check_id,
       resource_id,
       ROUND(monthly_cost_usd, 2) AS monthly_usd,
       reason
FROM findings
WHERE run_id = (SELECT max_by(run_id, run_started_at) FROM pairs)
  AND status = 'open'
  AND opened_run_id = run_id
ORDER BY monthly_cost_usd DESC NULLS LAST, finding_id
