-- A hand-written DuckDB SQL reference of csm-kit's revenue pipeline, for benchmarks/run.py.
--
-- Input: a relation `subscriptions` (customer_id, start_date, end_date, mrr) and the reporting
-- month `as_of_index` (year * 12 + month - 1), substituted for {as_of_index} by reference_sql.py.
-- The same rules as csm_kit/mrr_events.py: MRR in whole cents (halves up); a subscription counts
-- at the end of month m when month(start) <= m < month(end); a subscription that ends in its
-- start month never reaches a month end; a customer's subscriptions are summed, a sum <= 0 is 0.
-- Statements are separated by lines starting with "-- name:"; reference_sql.py runs them in order
-- and fetches the SELECTs as Arrow.

-- name: events
-- One row per customer and month where the customer's summed MRR changes (cents), with the
-- running total after the change and the month of the customer's next change.
CREATE OR REPLACE TEMP TABLE events AS
WITH subs AS (
    SELECT customer_id,
           year(start_date) * 12 + month(start_date) - 1 AS start_index,
           year(end_date) * 12 + month(end_date) - 1 AS end_index,
           floor(mrr * 100 + 0.5)::BIGINT AS cents
    FROM subscriptions
), kept AS (
    SELECT * FROM subs WHERE end_index IS NULL OR end_index > start_index
), changes AS (
    SELECT customer_id, start_index AS month_index, cents AS delta FROM kept
    UNION ALL
    SELECT customer_id, end_index, -cents FROM kept WHERE end_index IS NOT NULL
), net AS (
    SELECT customer_id, month_index, sum(delta)::BIGINT AS delta
    FROM changes
    WHERE month_index <= {as_of_index}
    GROUP BY customer_id, month_index
    HAVING sum(delta) <> 0
)
SELECT customer_id, month_index, delta,
       sum(delta) OVER w::BIGINT AS total,
       lead(month_index) OVER w AS next_index
FROM net
WINDOW w AS (PARTITION BY customer_id ORDER BY month_index);

-- name: customer_months
-- Each span of constant positive MRR expanded to one row per month.
SELECT customer_id,
       make_date((m // 12)::INTEGER, (m % 12 + 1)::INTEGER, 1)::TIMESTAMP_NS AS month,
       total::DOUBLE / 100 AS mrr
FROM (
    SELECT customer_id, total,
           unnest(range(month_index, coalesce(next_index, {as_of_index} + 1))) AS m
    FROM events
    WHERE total > 0
);

-- name: firsts
CREATE OR REPLACE TEMP TABLE firsts AS
SELECT customer_id, min(month_index) AS first_index
FROM events
WHERE total > 0
GROUP BY customer_id;

-- name: movements
CREATE OR REPLACE TEMP TABLE movements AS
SELECT e.customer_id, e.month_index,
       CASE WHEN before = 0 AND e.month_index = f.first_index THEN 'new'
            WHEN before = 0 THEN 'reactivation'
            WHEN after = 0 THEN 'churn'
            WHEN after > before THEN 'expansion'
            ELSE 'contraction' END AS movement,
       before, after
FROM (
    SELECT customer_id, month_index,
           greatest(total, 0) AS after, greatest(total - delta, 0) AS before
    FROM events
) AS e
JOIN firsts AS f USING (customer_id)
WHERE before <> after;

-- name: movements_out
SELECT customer_id,
       make_date((month_index // 12)::INTEGER, (month_index % 12 + 1)::INTEGER, 1)::TIMESTAMP_NS
           AS month,
       movement,
       (after - before)::DOUBLE / 100 AS mrr_change,
       before::DOUBLE / 100 AS mrr_before,
       after::DOUBLE / 100 AS mrr_after
FROM movements;

-- name: bridge
-- Every month from the first movement to as_of, with zeros where nothing moved.
WITH totals AS (
    SELECT month_index,
           sum(after - before) FILTER (movement = 'new')::BIGINT AS new,
           sum(after - before) FILTER (movement = 'expansion')::BIGINT AS expansion,
           sum(after - before) FILTER (movement = 'reactivation')::BIGINT AS reactivation,
           -sum(after - before) FILTER (movement = 'contraction')::BIGINT AS contraction,
           -sum(after - before) FILTER (movement = 'churn')::BIGINT AS churn,
           sum(after - before)::BIGINT AS net
    FROM movements
    GROUP BY month_index
), months AS (
    SELECT range AS month_index
    FROM range((SELECT min(month_index) FROM totals), {as_of_index} + 1)
), grid AS (
    SELECT m.month_index,
           coalesce(new, 0) AS new, coalesce(expansion, 0) AS expansion,
           coalesce(reactivation, 0) AS reactivation, coalesce(contraction, 0) AS contraction,
           coalesce(churn, 0) AS churn, coalesce(net, 0) AS net
    FROM months AS m LEFT JOIN totals AS t USING (month_index)
), running AS (
    SELECT *, sum(net) OVER (ORDER BY month_index)::BIGINT AS end_cents FROM grid
)
SELECT make_date((month_index // 12)::INTEGER, (month_index % 12 + 1)::INTEGER, 1) AS month,
       (end_cents - net)::DOUBLE / 100 AS start_mrr,
       new::DOUBLE / 100 AS new, expansion::DOUBLE / 100 AS expansion,
       reactivation::DOUBLE / 100 AS reactivation, contraction::DOUBLE / 100 AS contraction,
       churn::DOUBLE / 100 AS churn, end_cents::DOUBLE / 100 AS end_mrr
FROM running
ORDER BY month_index;

-- name: cohort_cells
-- Active customers and MRR (cents) per cohort (month of first MRR) and age in months: each
-- span gets its cohort first (a join of ~2 M rows, not of the expanded ~27 M), then expands.
SELECT cohort_index, m - cohort_index AS age, count(*) AS active, sum(total)::BIGINT AS value
FROM (
    SELECT f.first_index AS cohort_index, e.total,
           unnest(range(e.month_index, coalesce(e.next_index, {as_of_index} + 1))) AS m
    FROM events AS e
    JOIN firsts AS f USING (customer_id)
    WHERE e.total > 0
)
GROUP BY ALL;
