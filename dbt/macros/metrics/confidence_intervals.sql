{#-
  95% confidence intervals of the metric values, from the exact counts (one home
  for the formulas; macro metric_rows picks one by the metric's value_unit).

  - Proportions (pct): Wilson score interval (Wilson 1927; the method PHE/OHID's
    Fingertips uses for proportions). Unlike the normal (Wald) interval it stays
    inside 0-100% and is not degenerate at 0 or n events.
  - Rates (per_100k): Byar's approximation to the exact Poisson interval of the
    count (PHE/OHID, PHEindicatormethods), divided by the population; the
    population is taken as exact, as ONS estimates are treated in Fingertips.
    For a count of 0 the lower bound is 0 (Byar's formula gives 0 there too).
  - Means of days: normal approximation, mean +- z * s / sqrt(n) with the sample
    standard deviation s of the units' days; lower bound clipped at 0 (days are
    never negative); null below 2 units (no standard deviation).
  Every bound is null when there is nothing to divide by.
-#}

{#- z for a two-sided 95% interval: the 97.5th percentile of the standard normal. -#}
{% macro ci_z() %}{{ float_literal('1.959963984540054') }}{% endmacro %}

{#- Wilson score bound (side 'lower' or 'upper') of successes out of trials, as a proportion 0-1. -#}
{% macro wilson_bound(successes, trials, side) -%}
    {%- set z = ci_z() -%}
    {%- set zero, one = float_literal('0.0'), float_literal('1.0') -%}
    {%- set sign = '-' if side == 'lower' else '+' -%}
    case
        when not {{ trials }} > 0 then null
        -- the exact ends (the formula reaches them only up to rounding error)
        when {{ successes }} = {{ '0' if side == 'lower' else trials }} then {{ zero if side == 'lower' else one }}
        else {{ 'greatest(' ~ zero ~ ', ' if side == 'lower' else 'least(' ~ one ~ ', ' }}
        (
            ({{ successes }} * {{ one }} / {{ trials }}) + {{ z }} * {{ z }} / ({{ float_literal('2.0') }} * {{ trials }})
            {{ sign }} {{ z }} * sqrt(
                ({{ successes }} * {{ one }} / {{ trials }}) * (1 - {{ successes }} * {{ one }} / {{ trials }}) / {{ trials }}
                + {{ z }} * {{ z }} / ({{ float_literal('4.0') }} * {{ trials }} * {{ trials }})
            )
        ) / (1 + {{ z }} * {{ z }} / {{ trials }}))
    end
{%- endmacro %}

{#- Byar's bound (side 'lower' or 'upper') of a Poisson count. -#}
{% macro byar_bound(count, side) -%}
    {%- set z = ci_z() -%}
    {%- if side == 'lower' -%}
    case when {{ count }} = 0 then {{ float_literal('0.0') }}
         when {{ count }} > 0 then
            {{ count }} * pow(1 - 1 / ({{ float_literal('9.0') }} * {{ count }}) - {{ z }} / (3 * sqrt({{ count }})), 3)
    end
    {%- else -%}
        case when {{ count }} >= 0 then
        ({{ count }} + 1)
        * pow(1 - 1 / ({{ float_literal('9.0') }} * ({{ count }} + 1)) + {{ z }} / (3 * sqrt({{ count }} + 1)), 3)
    end
    {%- endif -%}
{%- endmacro %}

{#- Normal-approximation bound of a mean of n values with the given total and sum of squares. -#}
{% macro mean_normal_bound(total, sum_of_squares, n, side) -%}
    {%- set z = ci_z() -%}
    case when {{ n }} >= 2 then
        {{ 'greatest(' ~ float_literal('0.0') ~ ', ' if side == 'lower' else '(' }}
    {{ total }} * {{ float_literal('1.0') }} / {{ n }}
    {{ '-' if side == 'lower' else '+' }} {{ z }} * sqrt(greatest({{ float_literal('0.0') }},
            ({{ sum_of_squares }} - {{ total }} * {{ float_literal('1.0') }} * {{ total }} / {{ n }}) / ({{ n }} - 1)
        )) / sqrt({{ n }}))
    end
{%- endmacro %}

{#- ci_lower / ci_upper of a metric value in its unit (value_unit from seed metric_definitions). -#}
{% macro metric_ci_bound(value_unit, numerator, denominator, numerator_sum_of_squares, side) -%}
    case
        when {{ numerator }} is null or {{ denominator }} is null or {{ denominator }} = 0 then null
        when {{ value_unit }} = 'pct' then 100 * {{ wilson_bound(numerator, denominator, side) }}
        when {{ value_unit }} = 'per_100k'
            then {{ float_literal('100000.0') }} * {{ byar_bound(numerator, side) }} / {{ denominator }}
        when {{ value_unit }} = 'days'
            then {{ mean_normal_bound(numerator, numerator_sum_of_squares, denominator, side) }}
    end
{%- endmacro %}
