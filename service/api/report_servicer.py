"""ReportService: each RPC parses its request, reads one report and converts it."""

from typing import Any

import grpc
from finance.v1 import report_service_pb2 as pb
from finance.v1 import report_service_pb2_grpc

from service.api import convert_reports as convert
from service.api import report_requests as requests
from service.api.callers import caller
from service.services.reports import ReportService

Context = grpc.aio.ServicerContext[Any, Any]


class ReportServicer(report_service_pb2_grpc.ReportServiceServicer):
    """The finance.v1.ReportService API over the report use cases."""

    def __init__(self, reports: ReportService) -> None:
        self._reports = reports

    async def GetCategoryReport(
        self, request: pb.GetCategoryReportRequest, context: Context
    ) -> pb.CategoryReport:
        scope, kind = requests.parse_category(request)
        report = await self._reports.categories(
            scope, kind, caller=caller(context.invocation_metadata())
        )
        return convert.category_report_to_proto(report, scope.owner.user_id)

    async def GetIncomeExpenseReport(
        self, request: pb.GetIncomeExpenseReportRequest, context: Context
    ) -> pb.IncomeExpenseReport:
        scope = requests.parse_scope(request)
        lines = await self._reports.income_expense(
            scope, caller=caller(context.invocation_metadata())
        )
        return convert.income_expense_to_proto(lines)

    async def GetNetWorthReport(
        self, request: pb.GetNetWorthReportRequest, context: Context
    ) -> pb.NetWorthReport:
        scope, target = requests.parse_net_worth(request)
        points = await self._reports.net_worth(
            scope, target, caller=caller(context.invocation_metadata())
        )
        return convert.net_worth_to_proto(points)

    async def GetCashFlowReport(
        self, request: pb.GetCashFlowReportRequest, context: Context
    ) -> pb.CashFlowReport:
        scope = requests.parse_scope(request)
        lines = await self._reports.cash_flow(scope, caller=caller(context.invocation_metadata()))
        return convert.cash_flow_to_proto(lines, scope.owner.user_id)

    async def GetTopPayeesReport(
        self, request: pb.GetTopPayeesReportRequest, context: Context
    ) -> pb.TopPayeesReport:
        scope, limit = requests.parse_top_payees(request)
        lines = await self._reports.top_payees(
            scope, limit, caller=caller(context.invocation_metadata())
        )
        return convert.top_payees_to_proto(lines, scope.owner.user_id)
