-- Open findings of the latest run by account, with their monthly cost (USD).
SELECT account_id,
       account_name,
       COUNT(*) AS findings,
       ROUND(SUM(monthly_cost_usd), 2) AS monthly_usd,
       COUNT(*) - COUNT(monthly_cost_usd) AS unpriced
FROM findings
WHERE run_id = (SELECT max_by(run_id, run_started_at) FROM pairs)
  AND status = 'open'
GROUP BY account_id, account_name
ORDER BY monthly_usd DESC NULLS LAST, account_id
