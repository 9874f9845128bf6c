-- Open findings of the latest run by check, with their monthly cost (USD).
SELECT check_id,
       COUNT(*) AS findings,
       ROUND(SUM(monthly_cost_usd), 2) AS monthly_usd,
       COUNT(*) - COUNT(monthly_cost_usd) AS unpriced
FROM findings
WHERE run_id = (SELECT max_by(run_id, run_started_at) FROM pairs)
  AND status = 'open'
GROUP BY check_id
ORDER BY monthly_usd DESC NULLS LAST, check_id
