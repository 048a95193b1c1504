package scoring

// labels name each reason code in English, Portuguese and French.
var labels = map[string][numLanguages]string{
	"FIN_LEVERAGE":                   {"Leverage (liabilities to assets)", "Endividamento (passivo sobre ativo)", "Endettement (dettes sur actif)"},
	"FIN_EQUITY_RATIO":               {"Equity ratio", "Rácio de capitais próprios", "Ratio de fonds propres"},
	"FIN_CURRENT_RATIO":              {"Current ratio", "Liquidez geral", "Ratio de liquidité générale"},
	"FIN_QUICK_RATIO":                {"Quick ratio", "Liquidez reduzida", "Ratio de liquidité réduite"},
	"FIN_CASH_RATIO":                 {"Cash to current liabilities", "Liquidez imediata", "Trésorerie sur dettes à court terme"},
	"FIN_WORKING_CAPITAL":            {"Working capital", "Fundo de maneio", "Fonds de roulement"},
	"FIN_RETURN_ON_ASSETS":           {"Return on assets", "Rendibilidade do ativo", "Rentabilité de l'actif"},
	"FIN_OPERATING_RETURN":           {"Operating profit to assets", "Resultado operacional sobre o ativo", "Résultat d'exploitation sur actif"},
	"FIN_RETAINED_EARNINGS":          {"Retained earnings", "Resultados transitados", "Réserves et report à nouveau"},
	"FIN_ASSET_TURNOVER":             {"Asset turnover", "Rotação do ativo", "Rotation de l'actif"},
	"FIN_OPERATING_MARGIN":           {"Operating margin", "Margem operacional", "Marge d'exploitation"},
	"FIN_NET_MARGIN":                 {"Net margin", "Margem líquida", "Marge nette"},
	"FIN_INTEREST_COVER":             {"Interest cover", "Cobertura de juros", "Couverture des intérêts"},
	"FIN_INTEREST_BURDEN":            {"Financial expenses to assets", "Gastos financeiros sobre o ativo", "Charges financières sur actif"},
	"FIN_SIZE_ASSETS":                {"Size (total assets)", "Dimensão (ativo total)", "Taille (total de l'actif)"},
	"FIN_SIZE_REVENUE":               {"Size (revenue)", "Dimensão (volume de negócios)", "Taille (chiffre d'affaires)"},
	"FIN_RECEIVABLE_DAYS":            {"Customer payment days", "Prazo médio de recebimentos", "Délai de paiement des clients"},
	"FIN_INVENTORY_DAYS":             {"Inventory days", "Prazo médio de inventários", "Rotation des stocks en jours"},
	"FIN_PAYABLE_DAYS":               {"Short-term debt in days of revenue", "Dívida de curto prazo em dias de vendas", "Dettes à court terme en jours de chiffre d'affaires"},
	"FIN_EBITDA_TO_ASSETS":           {"EBITDA to assets", "EBITDA sobre o ativo", "EBE sur actif"},
	"FIN_SHORT_TERM_DEBT":            {"Share of short-term debt", "Peso da dívida de curto prazo", "Part des dettes à court terme"},
	"FIN_CURRENT_LIABILITIES":        {"Current liabilities to assets", "Passivo corrente sobre o ativo", "Dettes à court terme sur actif"},
	"FIN_DEPRECIATION":               {"Depreciation to assets", "Amortizações sobre o ativo", "Amortissements sur actif"},
	"FIN_BALANCE_GAP":                {"Balance sheet that does not balance", "Balanço que não fecha", "Bilan non équilibré"},
	"FIN_REVENUE_GROWTH":             {"Revenue growth", "Crescimento das vendas", "Croissance du chiffre d'affaires"},
	"FIN_CASH_TO_ASSETS":             {"Cash to assets", "Disponibilidades sobre o ativo", "Trésorerie sur actif"},
	"FIN_INTEREST_TO_REVENUE":        {"Financial expenses to revenue", "Gastos financeiros sobre as vendas", "Charges financières sur chiffre d'affaires"},
	"FIN_WORKING_CAPITAL_TO_REVENUE": {"Working capital to revenue", "Fundo de maneio sobre as vendas", "Fonds de roulement sur chiffre d'affaires"},
	"FIN_LIQUIDITY":                  {"Liquidity (current assets and cash against short-term debt)", "Liquidez (ativo corrente e disponibilidades face à dívida de curto prazo)", "Liquidité (actif circulant et trésorerie face aux dettes à court terme)"},
	"FIN_PROFITABILITY":              {"Profitability (margins on revenue)", "Rendibilidade (margens sobre as vendas)", "Rentabilité (marges sur chiffre d'affaires)"},
	"FIN_INTEREST":                   {"Interest burden and cover", "Encargos financeiros e sua cobertura", "Charges financières et leur couverture"},
	"FIN_SIZE":                       {"Size (assets and revenue)", "Dimensão (ativo e vendas)", "Taille (actif et chiffre d'affaires)"},
	"FIN_WORKING_CAPITAL_CYCLE":      {"Customer and inventory days", "Prazos de recebimento e de inventário", "Délais clients et rotation des stocks"},
	"FIN_EBITDA_MARGIN":              {"EBITDA margin", "Margem EBITDA", "Marge d'EBE"},
	codeLosses:                       {"Losses, with no profitable earlier year shown", "Prejuízo, sem ano anterior lucrativo conhecido", "Pertes, sans exercice antérieur bénéficiaire connu"},
	codeConsecutiveLosses:            {"Losses in the last two years", "Prejuízos nos dois últimos anos", "Pertes sur les deux derniers exercices"},
	codePayDaysBeyondTerms:           {"Days paid beyond terms", "Atraso médio nos pagamentos", "Retard moyen de paiement"},
	codePayIncidents:                 {"Supplier payment incidents", "Incidentes de pagamento a fornecedores", "Incidents de paiement fournisseurs"},
	codePayLateRatio:                 {"Share of invoices paid late", "Faturas pagas com atraso", "Part des factures payées en retard"},
	codeBankNegativeBalance:          {"Months with a negative bank balance", "Meses com saldo bancário negativo", "Mois en solde bancaire négatif"},
	codeBankNetFlow:                  {"Net bank flows", "Fluxos bancários líquidos", "Flux bancaires nets"},
	codeBankFlowTrend:                {"Trend of bank flows", "Tendência dos fluxos bancários", "Tendance des flux bancaires"},
	codeBankVolatility:               {"Volatility of bank inflows", "Volatilidade das entradas bancárias", "Volatilité des encaissements"},
	codeCompanyAge:                   {"Age of the company", "Idade da empresa", "Ancienneté de l'entreprise"},
	codeCompanyLegalForm:             {"Legal form", "Forma jurídica", "Forme juridique"},
	codeCompanySector:                {"Sector of activity", "Setor de atividade", "Secteur d'activité"},
	codeLegalCollectiveProceeding:    {"Open insolvency proceeding", "Processo de insolvência em curso", "Procédure collective en cours"},
	codeLegalPastProceeding:          {"Past insolvency proceeding", "Processo de insolvência anterior", "Procédure collective passée"},
	codeLegalPaymentIncident:         {"Formal payment incident", "Incidente de pagamento registado", "Incident de paiement déclaré"},
	codeLegalCourtJudgment:           {"Court judgment", "Decisão judicial", "Décision de justice"},
	codeLegalTaxLien:                 {"Tax or social-security lien", "Dívida fiscal ou à segurança social", "Privilège fiscal ou social"},
	codeNoFinancials:                 {"No financial statement", "Sem demonstrações financeiras", "Aucun état financier"},
	codeStaleStatements:              {"Old financial statements", "Demonstrações financeiras antigas", "États financiers anciens"},
}

var (
	raisesRisk = [numLanguages]string{": raises the risk", ": aumenta o risco", " : augmente le risque"}
	lowersRisk = [numLanguages]string{": lowers the risk", ": reduz o risco", " : réduit le risque"}
)

// reasonTexts holds every reason sentence, built once: [language][0 lowers, 1 raises].
var reasonTexts = func() map[string][numLanguages][2]string {
	m := make(map[string][numLanguages][2]string, len(labels))
	for code, l := range labels {
		var t [numLanguages][2]string
		for i := range l {
			t[i] = [2]string{l[i] + lowersRisk[i], l[i] + raisesRisk[i]}
		}
		m[code] = t
	}
	return m
}()

// label names a reason code in a language (the code itself if it has no label).
func label(code string, l language) string {
	if t, ok := labels[code]; ok {
		return t[l]
	}
	return code
}

func reasonText(code string, l language, raises bool) string {
	t, ok := reasonTexts[code]
	if !ok {
		return code
	}
	if raises {
		return t[l][1]
	}
	return t[l][0]
}

// Words of the justification.
var (
	wScore     = [numLanguages]string{"Score ", "Pontuação ", "Score "}
	wOf1000    = [numLanguages]string{"/1000, grade ", "/1000, classe ", "/1000, classe "}
	wPD        = [numLanguages]string{", 12-month probability of default ", ", probabilidade de incumprimento a 12 meses ", ", probabilité de défaut à 12 mois "}
	wPercent   = [numLanguages]string{"%. ", "%. ", " %. "}
	wDefault   = [numLanguages]string{"An insolvency proceeding is open: the company is in default. ", "Está em curso um processo de insolvência: a empresa está em incumprimento. ", "Une procédure collective est en cours : l'entreprise est en défaut. "}
	wRecommend = [numLanguages]string{"Recommendation: ", "Recomendação: ", "Recommandation : "}
	wLimit     = [numLanguages]string{", credit limit ", ", limite de crédito ", ", limite de crédit "}
	wFactors   = [numLanguages]string{". Main factors against the reference company: ", ". Principais fatores face à empresa de referência: ", ". Principaux facteurs par rapport à l'entreprise de référence : "}
	wNoFactors = [numLanguages]string{". No factor moves the score by a point against the reference company", ". Nenhum fator altera a pontuação face à empresa de referência", ". Aucun facteur ne modifie le score par rapport à l'entreprise de référence"}
	wPoints    = [numLanguages]string{" points", " pontos", " points"}
	// Rules 2: what raised the risk, what lowered it, and the share explained.
	wRaised     = [numLanguages]string{". Raised the risk against the reference company: ", ". Aumentaram o risco face à empresa de referência: ", ". Ont augmenté le risque par rapport à l'entreprise de référence : "}
	wLoweredIt  = [numLanguages]string{"; lowered it: ", "; reduziram-no: ", " ; l'ont réduit : "}
	wLowered    = [numLanguages]string{". Lowered the risk against the reference company: ", ". Reduziram o risco face à empresa de referência: ", ". Ont réduit le risque par rapport à l'entreprise de référence : "}
	wExplain    = [numLanguages]string{". These factors explain ", ". Estes fatores explicam ", ". Ces facteurs expliquent "}
	wOfMovement = [numLanguages]string{"% of the score's movement", "% da variação da pontuação", " % de l'écart du score"}
	wDataGaps   = [numLanguages]string{". Missing, stale or inconsistent data moved the score by ", ". Dados em falta, antigos ou inconsistentes alteraram a pontuação em ", ". Des données manquantes, anciennes ou incohérentes ont modifié le score de "}
	wEnd        = [numLanguages]string{".", ".", "."}
	wRec        = map[string][numLanguages]string{
		Accept:            {"accept", "aceitar", "accepter"},
		RequestGuarantees: {"accept with guarantees", "aceitar com garantias", "accepter avec garanties"},
		Decline:           {"decline", "recusar", "refuser"},
	}
	decimalSep  = [numLanguages]byte{'.', ',', ','}
	thousandSep = [numLanguages]string{",", ".", " "}
)
