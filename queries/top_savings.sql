-- The 20 open findings of the latest run that cost the most per month.
SELECT account_id,
       region,
       check_id,
       resource_id,
       ROUND(monthly_cost_usd, 2) AS monthly_usd,
       reason
FROM findings
WHERE run_id = (SELECT max_by(run_id, run_started_at) FROM pairs)
  AND status = 'open'
  AND monthly_cost_usd IS NOT NULL
ORDER BY monthly_cost_usd DESC, finding_id
LIMIT 20
