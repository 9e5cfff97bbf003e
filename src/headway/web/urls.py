"""The pages of PRODUCT.md section 5 (the health check stays in headway/urls.py)."""

from django.urls import path

from headway.web.views import (
    carry,
    checkin,
    coach,
    cycles,
    discussion,
    exports,
    home,
    imports,
    initiatives,
    kpi_review,
    kpis,
    objectives,
    search,
    teams,
)

urlpatterns = [
    path("", home.home, name="home"),
    path("search/", search.search_page, name="search"),
    # Threads, addressed by what they discuss: objectives/<key>[/key_results/<kr>],
    # kpis/<key>, checkins/<id> (discussion/targets.py).
    path("discussion/<path:target>/", discussion.discussion, name="discussion"),
    path("comments/<int:pk>/", discussion.comment_link, name="comment"),
    path("comments/<int:pk>/edit/", discussion.comment_edit, name="comment_edit"),
    path("comments/<int:pk>/delete/", discussion.comment_delete, name="comment_delete"),
    path("cycles/", cycles.cycles_index, name="cycles"),
    path("cycles/new/", cycles.cycle_create, name="cycle_create"),
    path("cycles/<slug:key>/", cycles.cycle_tree, name="cycle"),
    path("cycles/<slug:key>/edit/", cycles.cycle_edit, name="cycle_edit"),
    path("cycles/<slug:key>/review/", cycles.cycle_review, name="cycle_review"),
    path("cycles/<slug:key>/carry/", carry.cycle_carry, name="cycle_carry"),
    # Downloads (reports.responses): the tree, the review (and its PDF pack), a team, KPIs.
    path("cycles/<slug:key>/export.<slug:fmt>", exports.cycle_export, name="cycle_export"),
    path(
        "cycles/<slug:key>/review/export.<slug:fmt>",
        exports.review_export,
        name="cycle_review_export",
    ),
    path("cycles/<slug:key>/nodes/<slug:objective>/", cycles.cycle_node, name="cycle_node"),
    path("objectives/new/", objectives.objective_create, name="objective_create"),
    # Live coaching of the forms: each form's address + coach/ (POST what is typed).
    path("objectives/new/coach/", coach.objective_draft, name="objective_coach"),
    path("objectives/<slug:key>/", objectives.objective_detail, name="objective"),
    path("objectives/<slug:key>/edit/", objectives.objective_edit, name="objective_edit"),
    path("objectives/<slug:key>/carry/", carry.objective_carry, name="objective_carry"),
    path("objectives/<slug:key>/edit/coach/", coach.objective_draft, name="objective_edit_coach"),
    path(
        "objectives/<slug:key>/key-results/new/",
        objectives.key_result_create,
        name="key_result_create",
    ),
    path(
        "objectives/<slug:key>/key-results/new/coach/",
        coach.key_result_draft,
        name="key_result_coach",
    ),
    path(
        "objectives/<slug:key>/key-results/<slug:kr>/edit/",
        objectives.key_result_edit,
        name="key_result_edit",
    ),
    path(
        "objectives/<slug:key>/key-results/<slug:kr>/edit/coach/",
        coach.key_result_draft,
        name="key_result_edit_coach",
    ),
    # Initiatives (issue 18): the work behind a key result, never in its score.
    path(
        "objectives/<slug:key>/key-results/<slug:kr>/initiatives/new/",
        initiatives.initiative_create,
        name="initiative_create",
    ),
    path("initiatives/<int:pk>/edit/", initiatives.initiative_edit, name="initiative_edit"),
    path("initiatives/<int:pk>/status/", initiatives.initiative_status, name="initiative_status"),
    path("initiatives/<int:pk>/delete/", initiatives.initiative_delete, name="initiative_delete"),
    path(
        "initiatives/<int:pk>/tracker/", initiatives.initiative_tracker, name="initiative_tracker"
    ),
    path("kpis/", kpis.kpi_board, name="kpis"),
    path("kpis/export.<slug:fmt>", exports.kpi_board_export, name="kpis_export"),
    path("kpis/new/", kpis.kpi_create, name="kpi_create"),
    path("kpis/<slug:key>/", kpis.kpi_detail, name="kpi"),
    path("kpis/<slug:key>/edit/", kpis.kpi_edit, name="kpi_edit"),
    path("kpis/<slug:key>/review/", kpi_review.kpi_review, name="kpi_review"),
    path("kpis/<slug:key>/export.<slug:fmt>", exports.kpi_series_export, name="kpi_export"),
    path("teams/", teams.teams, name="teams"),
    path("teams/new/", teams.team_create, name="team_create"),
    path("teams/<slug:key>/", teams.team_detail, name="team"),
    path("teams/<slug:key>/edit/", teams.team_edit, name="team_edit"),
    path("teams/<slug:key>/checkin/", checkin.checkin, name="checkin"),
    path("teams/<slug:key>/kpis/", kpis.kpi_board, name="team_kpis"),
    path("teams/<slug:key>/export.<slug:fmt>", exports.team_export, name="team_export"),
    path(
        "teams/<slug:key>/kpis/export.<slug:fmt>", exports.kpi_board_export, name="team_kpis_export"
    ),
    path("people/new/", teams.person_create, name="person_create"),
    # Admins: a spreadsheet of OKRs or KPIs, through columns and a preview (web.views.imports).
    path("settings/import/", imports.import_upload, name="import_upload"),
    path("settings/import/<str:token>/", imports.import_sheet_view, name="import_sheet"),
]
