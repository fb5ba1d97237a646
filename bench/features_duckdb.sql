-- Core ecmo feature columns in DuckDB SQL, from a registry directory of CSV files
-- (docs/data-format.md), for bench/features_vs_duckdb.sh. Definitions follow
-- docs/features.md: time 0 = flow start, first-24 h window [0, 24 h), infusions are
-- step functions (a rate holds until the next change of the same drug), VIS = Gaies 2010.
-- {dir} is replaced by the registry directory, {out} by the output CSV.
-- Units handled: the accepted units of docs/data-format.md for the columns computed here.

COPY (
WITH
runs AS (
    SELECT run_id, patient_id, epoch_ms(flow_start) // 60000 AS t0, epoch_ms(flow_start) // 60000 + 1440 AS t24
    FROM read_csv('{dir}/runs.csv', header = true, auto_detect = false,
        columns = {'run_id': 'VARCHAR', 'patient_id': 'VARCHAR', 'mode': 'VARCHAR', 'etiology': 'VARCHAR',
                   'admission_type': 'VARCHAR', 'icu_admission': 'VARCHAR', 'flow_start': 'TIMESTAMP',
                   'decannulation': 'VARCHAR', 'arrest': 'VARCHAR', 'ecpr': 'VARCHAR', 'collapse_time': 'VARCHAR',
                   'cpr_start_time': 'VARCHAR', 'emergency_call_time': 'VARCHAR', 'hospital_arrival_time': 'VARCHAR',
                   'rosc_time': 'VARCHAR', 'no_flow_min': 'VARCHAR', 'low_flow_min': 'VARCHAR',
                   'first_rhythm': 'VARCHAR', 'arrival_rhythm': 'VARCHAR', 'ventilation_hours_before': 'VARCHAR',
                   'cohort': 'VARCHAR'})
),
patients AS (
    SELECT patient_id, weight_kg
    FROM read_csv('{dir}/patients.csv', header = true, auto_detect = false,
        columns = {'patient_id': 'VARCHAR', 'sex': 'VARCHAR', 'age_years': 'DOUBLE', 'birth_year': 'DOUBLE',
                   'weight_kg': 'DOUBLE', 'height_cm': 'DOUBLE', 'liver_cirrhosis': 'VARCHAR',
                   'heart_failure_nyha_iv': 'VARCHAR', 'severe_respiratory': 'VARCHAR', 'chronic_dialysis': 'VARCHAR',
                   'immunocompromised': 'VARCHAR', 'chronic_renal_failure': 'VARCHAR'})
),
raw_inf AS (
    SELECT i.run_id, i.rn, epoch_ms(i.time) // 60000 AS t, lower(i.drug) AS drug, i.rate, i.unit,
           coalesce(i.dosing_weight_kg, p.weight_kg) AS w, i.concentration AS conc, i.concentration_unit AS cu,
           CASE lower(coalesce(i.salt, 'base'))
               WHEN 'bitartrate_monohydrate' THEN 2.0 WHEN 'tartrate' THEN 2.0 WHEN 'bitartrate' THEN 2.0
               WHEN 'anhydrous_bitartrate' THEN 1.89 WHEN 'hydrochloride' THEN 1.22 WHEN 'hcl' THEN 1.22
               ELSE 1.0 END AS salt_factor
    FROM (
        -- File order (rn) breaks ties between changes of one drug at the same minute: the last one holds.
        SELECT *, row_number() OVER () AS rn
        FROM read_csv('{dir}/infusions.csv', header = true, auto_detect = false,
            columns = {'run_id': 'VARCHAR', 'time': 'TIMESTAMP', 'drug': 'VARCHAR', 'rate': 'DOUBLE', 'unit': 'VARCHAR',
                       'salt': 'VARCHAR', 'concentration': 'DOUBLE', 'concentration_unit': 'VARCHAR',
                       'dosing_weight_kg': 'DOUBLE'})
    ) i
    JOIN runs r USING (run_id)
    JOIN patients p ON p.patient_id = r.patient_id
),
inf AS (
    -- Canonical rates: mcg/kg/min of base, vasopressin U/min, angiotensin II ng/kg/min.
    SELECT run_id, rn, t, w,
        CASE drug WHEN 'noradrenaline' THEN 'norepinephrine' WHEN 'adrenaline' THEN 'epinephrine' ELSE drug END AS drug,
        CASE
            WHEN drug = 'vasopressin' THEN CASE unit
                WHEN 'U/min' THEN rate WHEN 'U/h' THEN rate / 60.0 WHEN 'U/kg/min' THEN rate * w
                WHEN 'mU/kg/min' THEN rate / 1000.0 * w WHEN 'mL/h' THEN rate * conc / 60.0 END
            WHEN drug = 'angiotensin_ii' THEN CASE unit
                WHEN 'ng/kg/min' THEN rate WHEN 'mcg/kg/min' THEN rate * 1000.0
                WHEN 'mL/h' THEN rate * (CASE cu WHEN 'mg/mL' THEN conc * 1000.0 ELSE conc END) * 1000.0 / 60.0 / w END
            ELSE (CASE unit
                WHEN 'mcg/kg/min' THEN rate WHEN 'mcg/min' THEN rate / w WHEN 'mg/h' THEN rate * 1000.0 / 60.0 / w
                WHEN 'mL/h' THEN rate * (CASE cu WHEN 'mg/mL' THEN conc * 1000.0 ELSE conc END) / 60.0 / w END)
                / salt_factor
        END AS r
    FROM raw_inf
),
seg AS (
    -- Each change holds until the next change of the same drug.
    SELECT i.run_id, i.rn, i.drug, i.t, i.r, i.w, r.t0, r.t24,
           coalesce(lead(i.t) OVER (PARTITION BY i.run_id, i.drug ORDER BY i.t, i.rn), 9223372036854775807) AS t_next
    FROM inf i JOIN runs r USING (run_id)
),
state AS (
    -- Rates in force at 0 h and at 24 h, pivoted per drug.
    SELECT run_id,
        max(CASE WHEN t <= t0 AND t_next > t0 AND drug = 'norepinephrine' THEN r END) AS ne0,
        max(CASE WHEN t <= t0 AND t_next > t0 AND drug = 'epinephrine' THEN r END) AS epi0,
        max(CASE WHEN t <= t0 AND t_next > t0 AND drug = 'dopamine' THEN r END) AS dopa0,
        max(CASE WHEN t <= t0 AND t_next > t0 AND drug = 'dobutamine' THEN r END) AS dobu0,
        max(CASE WHEN t <= t0 AND t_next > t0 AND drug = 'milrinone' THEN r END) AS mil0,
        max(CASE WHEN t <= t0 AND t_next > t0 AND drug = 'vasopressin' THEN CASE WHEN w > 0 THEN r / w ELSE 0.0 END END) AS vkg0,
        max(CASE WHEN t <= t24 AND t_next > t24 AND drug = 'norepinephrine' THEN r END) AS ne24,
        max(CASE WHEN t <= t24 AND t_next > t24 AND drug = 'epinephrine' THEN r END) AS epi24,
        max(CASE WHEN t <= t24 AND t_next > t24 AND drug = 'dopamine' THEN r END) AS dopa24,
        max(CASE WHEN t <= t24 AND t_next > t24 AND drug = 'dobutamine' THEN r END) AS dobu24,
        max(CASE WHEN t <= t24 AND t_next > t24 AND drug = 'milrinone' THEN r END) AS mil24,
        max(CASE WHEN t <= t24 AND t_next > t24 AND drug = 'vasopressin' THEN CASE WHEN w > 0 THEN r / w ELSE 0.0 END END) AS vkg24,
        -- Highest rate of the step function over [0, 24 h) (0 when not given).
        max(CASE WHEN drug = 'norepinephrine' AND r > 0 AND least(t_next, t24) > greatest(t, t0) THEN r END) AS max_ne,
        max(CASE WHEN drug = 'epinephrine' AND r > 0 AND least(t_next, t24) > greatest(t, t0) THEN r END) AS max_epi,
        max(CASE WHEN drug = 'dopamine' AND r > 0 AND least(t_next, t24) > greatest(t, t0) THEN r END) AS max_dopa,
        max(CASE WHEN drug = 'dobutamine' AND r > 0 AND least(t_next, t24) > greatest(t, t0) THEN r END) AS max_dobu,
        max(CASE WHEN drug = 'milrinone' AND r > 0 AND least(t_next, t24) > greatest(t, t0) THEN r END) AS max_mil,
        max(CASE WHEN drug = 'vasopressin' AND r > 0 AND least(t_next, t24) > greatest(t, t0) THEN r END) AS max_vaso,
        max(CASE WHEN drug = 'levosimendan' AND r > 0 AND least(t_next, t24) > greatest(t, t0) THEN r END) AS max_levo,
        max(CASE WHEN drug = 'phenylephrine' AND r > 0 AND least(t_next, t24) > greatest(t, t0) THEN r END) AS max_phe,
        max(CASE WHEN drug = 'angiotensin_ii' AND r > 0 AND least(t_next, t24) > greatest(t, t0) THEN r END) AS max_ang
    FROM seg
    GROUP BY run_id
),
vis AS (
    -- Same order of terms as ecmo (Drug::ALL), so the sums are bit-identical.
    SELECT run_id,
        ((((100.0 * coalesce(ne0, 0) + 100.0 * coalesce(epi0, 0)) + coalesce(dopa0, 0)) + coalesce(dobu0, 0))
            + 10.0 * coalesce(mil0, 0)) + 10000.0 * coalesce(vkg0, 0) AS vis0,
        ((((100.0 * coalesce(ne24, 0) + 100.0 * coalesce(epi24, 0)) + coalesce(dopa24, 0)) + coalesce(dobu24, 0))
            + 10.0 * coalesce(mil24, 0)) + 10000.0 * coalesce(vkg24, 0) AS vis24,
        max_ne, max_epi, max_dopa, max_dobu, max_mil, max_vaso, max_levo, max_phe, max_ang
    FROM state
),
exposure AS (
    -- Union of all agents' running intervals inside [0, 24 h) (gaps and islands). Both
    -- windows order by (a, b, rn): with ties on (a, b) alone each window could order the
    -- tied intervals differently and count an overlap twice (seen on 2 of 100,000 runs).
    SELECT run_id, sum(e - s) AS minutes FROM (
        SELECT run_id, grp, min(a) AS s, max(b) AS e FROM (
            SELECT run_id, rn, a, b,
                sum(CASE WHEN prev_end IS NULL OR a > prev_end THEN 1 ELSE 0 END)
                    OVER (PARTITION BY run_id ORDER BY a, b, rn ROWS UNBOUNDED PRECEDING) AS grp
            FROM (
                SELECT run_id, rn, a, b,
                    max(b) OVER (PARTITION BY run_id ORDER BY a, b, rn ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
                FROM (SELECT run_id, rn, greatest(t, t0) AS a, least(t_next, t24) AS b FROM seg WHERE r > 0)
                WHERE b > a
            )
        ) GROUP BY run_id, grp
    ) GROUP BY run_id
),
obs AS (
    SELECT o.run_id, epoch_ms(o.time) // 60000 AS t, epoch_ms(o.start) // 60000 AS s, o.quantity,
        CASE WHEN o.quantity = 'lactate' AND o.unit = 'mg/dL' THEN o.value / 9.008 ELSE o.value END AS v
    FROM read_csv('{dir}/observations.csv', header = true, auto_detect = false,
        columns = {'run_id': 'VARCHAR', 'time': 'TIMESTAMP', 'quantity': 'VARCHAR', 'value': 'DOUBLE',
                   'unit': 'VARCHAR', 'start': 'TIMESTAMP'}) o
    WHERE o.quantity IN ('lactate', 'map', 'fluid_in', 'fluid_out', 'urine_output')
),
obs_agg AS (
    SELECT o.run_id,
        -- Closest sample within 2 h (ties: the earlier one).
        arg_min(CASE WHEN o.quantity = 'lactate' AND abs(o.t - r.t0) <= 120 THEN o.v END,
                CASE WHEN o.quantity = 'lactate' AND abs(o.t - r.t0) <= 120 THEN abs(o.t - r.t0) * 1000 + (o.t - r.t0 + 120) END) AS lac0,
        arg_min(CASE WHEN o.quantity = 'lactate' AND abs(o.t - r.t24) <= 120 THEN o.v END,
                CASE WHEN o.quantity = 'lactate' AND abs(o.t - r.t24) <= 120 THEN abs(o.t - r.t24) * 1000 + (o.t - r.t24 + 120) END) AS lac24,
        min(CASE WHEN o.quantity = 'map' AND o.t >= r.t0 AND o.t < r.t24 THEN o.v END) AS map_min,
        -- Interval volumes prorated to the window; point volumes counted when inside it.
        sum(CASE WHEN o.quantity IN ('fluid_in', 'fluid_out', 'urine_output') THEN
                (CASE WHEN o.quantity = 'fluid_in' THEN 1.0 ELSE -1.0 END) * o.v *
                (CASE WHEN o.s IS NOT NULL AND o.s < o.t THEN
                    CASE WHEN least(o.t, r.t24) > greatest(o.s, r.t0)
                         THEN (least(o.t, r.t24) - greatest(o.s, r.t0))::DOUBLE / (o.t - o.s)::DOUBLE END
                 ELSE CASE WHEN o.t >= r.t0 AND o.t < r.t24 THEN 1.0 END END) END) AS fluid
    FROM obs o JOIN runs r USING (run_id)
    GROUP BY o.run_id
)
SELECT r.run_id,
    coalesce(v.vis0, 0.0) AS vis_at_0h,
    coalesce(v.vis24, 0.0) AS vis_at_24h,
    CASE WHEN v.vis0 > 0 THEN (v.vis0 - v.vis24) / v.vis0 * 100.0 END AS vis_reduction_24h,
    coalesce(v.max_ne, 0.0) AS max_norepinephrine_24h,
    coalesce(v.max_epi, 0.0) AS max_epinephrine_24h,
    coalesce(v.max_dopa, 0.0) AS max_dopamine_24h,
    coalesce(v.max_dobu, 0.0) AS max_dobutamine_24h,
    coalesce(v.max_mil, 0.0) AS max_milrinone_24h,
    coalesce(v.max_vaso, 0.0) AS max_vasopressin_24h,
    coalesce(v.max_levo, 0.0) AS max_levosimendan_24h,
    coalesce(v.max_phe, 0.0) AS max_phenylephrine_24h,
    coalesce(v.max_ang, 0.0) AS max_angiotensin_ii_24h,
    coalesce(x.minutes, 0) / 60.0 AS vasoactive_hours_24h,
    CASE WHEN a.lac0 > 0 THEN (a.lac0 - a.lac24) / a.lac0 * 100.0 END AS lactate_clearance_24h,
    a.fluid AS fluid_balance_24h,
    a.map_min AS map_min_24h
FROM runs r
LEFT JOIN vis v USING (run_id)
LEFT JOIN exposure x USING (run_id)
LEFT JOIN obs_agg a USING (run_id)
ORDER BY r.run_id
) TO '{out}' (HEADER, DELIMITER ',');
